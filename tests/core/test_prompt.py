"""The interactive `db4ai sql` prompt in a pseudo-terminal, its screen read by a terminal emulator
(pyte): Ctrl-C cancels a running statement and keeps the prompt, backslash commands, multi-line
statements and their history, completion of catalog names, Ctrl-C clearing the input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pexpect
import pyte
import pytest

ROWS, COLS = 50, 160


class Terminal:
    """A program on a pseudo-terminal and the screen it draws."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(args[0], args[1:], env=env, dimensions=(ROWS, COLS))

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def pump(self) -> None:
        while True:
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.05))
            except (pexpect.TIMEOUT, pexpect.EOF):
                return

    def wait_for(self, predicate, timeout: float = 20.0) -> float:
        """Seconds until ``predicate(screen text)`` holds; fails with the screen after ``timeout``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            self.pump()
            if predicate(self.text()):
                return time.monotonic() - started
        pytest.fail(f"timed out; the screen shows:\n{self.text()}")

    def send(self, keys: str) -> None:
        self.child.send(keys)


UP, CTRL_C = "\x1b[A", "\x03"


def last_lines(screen: str, n: int) -> list[str]:
    return [line for line in screen.splitlines() if line.strip()][-n:]


def test_the_prompt_in_a_terminal(db_dsn, tmp_path):
    setup = subprocess.run(
        [sys.executable, "-m", "db4ai.cli", "sql", "-d", db_dsn, "-c",
         "CREATE TABLE zebra_stripes AS SELECT g AS id, g::float8 AS x, 2 * g AS y FROM generate_series(1, 20) g;"
         "CREATE SNAPSHOT zebra_stripes AS SELECT * FROM zebra_stripes;"
         "CREATE MODEL stripe_model USING linear_regression FEATURES x TARGET y FROM zebra_stripes@1.0.0"
         " WITH optimizer = 'ngd', learning_rate = 2.0, max_iterations = 5, seed = 1"],
        capture_output=True, text=True, timeout=120)
    assert setup.returncode == 0, setup.stderr
    env = {k: v for k, v in os.environ.items() if k != "DB4AI_DSN"}
    env.update(DB4AI_HOME=str(tmp_path), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    term = Terminal([sys.executable, "-m", "db4ai.cli", "sql", "-d", db_dsn], env)
    try:
        dbname = db_dsn.split("dbname=")[1].split()[0]
        prompt = f"{dbname}=# "
        term.wait_for(lambda s: s.rstrip().endswith(prompt.rstrip()))

        # Ctrl-C while a statement runs: the server cancels it, the prompt comes back at once
        term.send("SELECT pg_sleep(5);\r")
        term.wait_for(lambda s: "pg_sleep(5);" in s)
        time.sleep(0.5)
        started = time.monotonic()
        term.send(CTRL_C)
        term.wait_for(lambda s: "ERROR:  canceling statement due to user request" in s, timeout=4)
        term.wait_for(lambda s: s.rstrip().endswith(prompt.rstrip()), timeout=4)
        assert time.monotonic() - started < 3.5  # well before the 5 s the statement would take
        assert "Cancel request sent" in term.text()

        # a statement over two lines: Enter before the ';' continues it with psql's second prompt
        term.send("SELECT 40 +\r")
        term.wait_for(lambda s: f"{dbname}-#" in s)
        term.send("2 AS answer;\r")
        term.wait_for(lambda s: "     42" in s)

        # psql's \d, db4ai's \dm
        term.send("\\d\r")
        term.wait_for(lambda s: "zebra_stripes" in s and "| table" in s)
        term.send("\\dm\r")
        term.wait_for(lambda s: "stripe_model" in s and "linear_regression" in s)

        # history: Up brings back \dm, then \d, then the two-line statement as one entry, which runs again
        term.send(UP)
        term.wait_for(lambda s: last_lines(s, 1) == [prompt + "\\dm"])
        term.send(UP)
        term.wait_for(lambda s: last_lines(s, 1) == [prompt + "\\d"])
        term.send(UP)
        term.wait_for(lambda s: last_lines(s, 2) == [prompt + "SELECT 40 +", f"{dbname}-# 2 AS answer;"])
        term.send("\x1b[F\r")  # End (cursor after the ';'), Enter
        term.wait_for(lambda s: s.count("     42") == 2)

        # completion of a table name (Tab), and of a model name
        term.send("SELECT count(*) FROM zebra_s\t")
        term.wait_for(lambda s: "FROM zebra_stripes" in s)
        term.send(";\r")
        term.wait_for(lambda s: "    20" in s)
        term.send("DROP MODEL stripe_m\t")
        term.wait_for(lambda s: "DROP MODEL stripe_model" in s)

        # Ctrl-C at the prompt clears what was typed; \q leaves with status 0
        term.send(CTRL_C)
        term.wait_for(lambda s: s.rstrip().endswith(prompt.rstrip()))
        term.send("\\dm\r")
        term.wait_for(lambda s: s.count("stripe_model") >= 3)  # the model is still there: DROP never ran
        term.send("\\q\r")
        print(term.text())  # shown with -s: what a user sees
        term.child.expect(pexpect.EOF, timeout=10)
        term.child.close()
        assert term.child.exitstatus == 0
    finally:
        if term.child.isalive():
            term.child.terminate(force=True)
    history = (tmp_path / "sql_history").read_text()
    assert "+SELECT 40 +\n+2 AS answer;\n" in history  # one entry of two lines


# A training that runs a second or more (100,000 rows, passes of about a millisecond that a small
# learning rate keeps from converging): longer than the half second after which the line appears.
PROGRESS_TABLE = ("CREATE TABLE waves AS SELECT g AS id, (g % 97)::float8 AS x1, (g % 89)::float8 AS x2,"
                  " 3 * (g % 97) - (g % 89) + g % 7 AS y FROM generate_series(1, 100000) g;")
LONG_MODEL = ("CREATE MODEL {name} USING linear_regression FEATURES x1, x2 TARGET y FROM waves WITH optimizer = 'gd',"
              " learning_rate = 1e-7, decay = 1.0, max_iterations = {passes}, tolerance = 1e-30, seed = 1;")
BAR = re.compile(r"CREATE MODEL (\w+): .*pass (\d+)/(\d+) \[[\d:]+, ([\d,]+) rows read(?:, loss ([\d.e+-]+))?\]")


def test_create_model_shows_progress_on_a_terminal_only(db_dsn, tmp_path):
    # through a pipe: the statement's output only, no progress line
    piped = subprocess.run([sys.executable, "-m", "db4ai.cli", "sql", "-d", db_dsn, "-c",
                            PROGRESS_TABLE + LONG_MODEL.format(name="piped", passes=1000)],
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == "SELECT 100000\nMODEL CREATED. PROCESSED 1\n" and piped.stderr == ""

    env = {k: v for k, v in os.environ.items() if k != "DB4AI_DSN"}
    env.update(DB4AI_HOME=str(tmp_path), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    term = Terminal([sys.executable, "-m", "db4ai.cli", "sql", "-d", db_dsn], env)
    seen: list[tuple[str, ...]] = []

    def bar_shows(screen: str, name: str, loss: bool) -> bool:
        found = [m.groups() for m in BAR.finditer(screen) if m.group(1) == name]
        seen.extend(found)
        return any(g[4] is not None for g in found) if loss else bool(found)

    try:
        prompt = "=# "
        term.wait_for(lambda s: s.rstrip().endswith(prompt.rstrip()))
        # a training that ends: the line shows rows read, pass k of n, the loss; then it is gone
        term.send(LONG_MODEL.format(name="shown", passes=1000) + "\r")
        term.wait_for(lambda s: bar_shows(s, "shown", loss=False))
        term.wait_for(lambda s: "MODEL CREATED. PROCESSED 1" in s and s.rstrip().endswith(prompt.rstrip()))
        assert not BAR.search(term.text())
        name, k, n, rows, _ = seen[0]
        assert (name, n, rows) == ("shown", "1000", "100,000") and 0 <= int(k) <= 1000
        # Ctrl-C while one trains: the line goes with the training, the prompt comes back
        term.send(LONG_MODEL.format(name="cancelled", passes=10000) + "\r")
        term.wait_for(lambda s: bar_shows(s, "cancelled", loss=True))
        print(term.text())  # shown with -s: the line while it trains
        term.send(CTRL_C)
        term.wait_for(lambda s: "Cancel request sent" in s and s.rstrip().endswith(prompt.rstrip()), timeout=10)
        assert not BAR.search(term.text())
        losses = [float(g[4]) for g in seen if g[0] == "cancelled" and g[4] is not None]
        assert losses and all(loss >= 0 for loss in losses)
        term.send("\\dm\r")
        term.wait_for(lambda s: "shown" in s.split("\\dm")[-1])
        assert "cancelled" not in term.text().split("\\dm")[-1]  # nothing stored
        term.send("\\q\r")
        term.child.expect(pexpect.EOF, timeout=10)
    finally:
        if term.child.isalive():
            term.child.terminate(force=True)
