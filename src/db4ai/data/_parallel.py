"""Reading one query over several connections, and how many to use.

The caller's connection exports its snapshot (``pg_export_snapshot``); every extra
connection imports it (``SET TRANSACTION SNAPSHOT``), so all readers see the same rows.
Extra connections also take the caller's session settings (``SET search_path``,
``statement_timeout``, ...), so a query means the same there. Worker ``w`` of ``n`` handles
tasks ``w, w + n, ...``; results come back in task order through one small queue per worker,
which bounds memory to about ``2 n`` chunks. :func:`ordered` runs tasks that each need a
connection of their own kind (a Citus shard needs one to its worker node) on ``n`` threads,
results again in task order. :func:`prefetched` runs any iterator a few items ahead in a
thread, so that the consumer's work overlaps the read.

How many connections (``parallel=None``): the setting ``db4ai.parallel`` of the caller's
session (``SET db4ai.parallel = 8``; ``ALTER ROLE/DATABASE ... SET`` work too), else
``auto``: the CPUs this process may use, at most the server's ``max_parallel_workers`` (the
share of the server its administrator grants to one query), at least 1.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TypeVar, cast

import psycopg
from psycopg import sql

from ..errors import InvalidParameter
from ..server import sibling_conninfo

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


SETTING = "db4ai.parallel"
# Session settings that describe the connection itself, not how a query runs.
_NOT_COPIED = frozenset({"application_name", "transaction_isolation", "transaction_read_only",
                         "transaction_deferrable", "session_authorization", "is_superuser"})


def client_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_parallel(conn: psycopg.Connection, parallel: int | None) -> int:
    """``parallel`` when given, else the session's ``db4ai.parallel``, else the automatic value."""
    if parallel is not None:
        if parallel < 1:
            raise InvalidParameter(f"parallel must be at least 1, not {parallel}")
        return parallel
    with conn.cursor() as cur:
        setting, server = cur.execute(sql.SQL(
            "SELECT current_setting({}, true), current_setting('max_parallel_workers')::int").format(
                sql.Literal(SETTING))).fetchone()  # type: ignore[misc]
    setting = (setting or "").strip().lower()
    if setting in ("", "auto"):
        return max(1, min(client_cpus(), int(server)))
    if not setting.isdigit() or int(setting) < 1:
        raise InvalidParameter(f"{SETTING} must be auto or a positive number of connections, not {setting!r}",
                               hint=f"SET {SETTING} = auto")
    return int(setting)


def session_settings(conn: psycopg.Connection) -> dict[str, str]:
    """The settings the caller's session changed with SET (they apply to its queries)."""
    with conn.cursor() as cur:
        rows = cur.execute(sql.SQL("SELECT name, setting FROM pg_settings WHERE source = 'session'")).fetchall()
    return {str(n): str(v) for n, v in rows if n not in _NOT_COPIED}


def apply_settings(conn: psycopg.Connection, settings: dict[str, str], *, local: bool = True) -> None:
    """``set_config`` each of ``settings`` on ``conn`` (for its transaction when ``local``)."""
    if settings:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT set_config(n, v, {}) FROM unnest(%s::text[], %s::text[]) AS s(n, v)").format(
                sql.Literal(local)), (list(settings), list(settings.values())))


@contextmanager
def snapshot_sharing(conn: psycopg.Connection, extra: int, setup: Callable[[psycopg.Connection], object]
                     ) -> Iterator[list[psycopg.Connection]]:
    """``extra`` new connections in REPEATABLE READ transactions on ``conn``'s snapshot.

    ``conn`` must already be inside a transaction (the read's own).
    """
    snapshot = conn.execute(sql.SQL("SELECT pg_export_snapshot()")).fetchone()[0]  # type: ignore[index]
    info = sibling_conninfo(conn)
    settings = session_settings(conn)
    with ExitStack() as stack:
        conns = []
        for _ in range(extra):
            other = stack.enter_context(psycopg.connect(info, autocommit=True))
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            other.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            apply_settings(other, settings)
            setup(other)
            conns.append(other)
        yield conns


def interleave(conns: Sequence[psycopg.Connection], tasks: Sequence[T],
               run: Callable[[psycopg.Connection, Sequence[T]], Iterator[R]], depth: int = 2) -> Iterator[R]:
    """One result per task, in task order: connection ``w`` runs ``run(conn, tasks[w::n])``,
    which must yield one result per task in the order given."""
    n = len(conns)
    queues: list[queue.Queue[tuple[bool, object]]] = [queue.Queue(maxsize=depth) for _ in range(n)]
    stop = threading.Event()

    def put(q: queue.Queue[tuple[bool, object]], item: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker(w: int) -> None:
        try:
            results = run(conns[w], tasks[w::n])
            try:
                for result in results:
                    if stop.is_set() or not put(queues[w], (True, result)):
                        return
            finally:
                close = getattr(results, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the consumer, which raises it
            put(queues[w], (False, exc))
            return
        put(queues[w], (True, _DONE))

    threads = [threading.Thread(target=worker, args=(w,), daemon=True, name=f"db4ai-read-{w}")
               for w in range(n)]
    for t in threads:
        t.start()
    try:
        for i in range(len(tasks)):
            ok, item = queues[i % n].get()
            if not ok:
                raise cast(BaseException, item)
            if item is _DONE:  # pragma: no cover - a worker ended early
                break
            yield cast(R, item)
    finally:
        stop.set()
        for t in threads:
            t.join()


K = TypeVar("K", bound=Hashable)


def ordered(tasks: Sequence[T], key: Callable[[T], K], connect: Callable[[K], psycopg.Connection],
            run: Callable[[psycopg.Connection, T], Iterator[R]], workers: int, depth: int = 2) -> Iterator[R]:
    """The results of ``run(conn, task)`` for every task, in task order.

    ``workers`` threads take the tasks in order; a thread runs a task on its own connection for
    ``key(task)`` (opened with ``connect`` on first use, closed at the end). Each task's results
    pass through a queue of ``depth`` items, so at most ``workers`` tasks are read ahead.
    """
    n = max(1, min(workers, len(tasks)))
    queues: list[queue.Queue[tuple[bool, object]]] = [queue.Queue(maxsize=depth) for _ in tasks]
    stop = threading.Event()
    lock = threading.Lock()
    next_task = [0]

    def put(q: queue.Queue[tuple[bool, object]], item: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker() -> None:
        conns: dict[K, psycopg.Connection] = {}
        try:
            while not stop.is_set():
                with lock:
                    i = next_task[0]
                    next_task[0] += 1
                if i >= len(tasks):
                    return
                try:
                    k = key(tasks[i])
                    if k not in conns:
                        conns[k] = connect(k)
                    results = run(conns[k], tasks[i])
                    try:
                        for result in results:
                            if not put(queues[i], (True, result)):
                                return
                    finally:
                        close = getattr(results, "close", None)
                        if close is not None:
                            close()
                except BaseException as exc:  # handed to the consumer, which raises it
                    put(queues[i], (False, exc))
                    return
                if not put(queues[i], (True, _DONE)):
                    return
        finally:
            for c in conns.values():
                c.close()

    threads = [threading.Thread(target=worker, daemon=True, name=f"db4ai-shard-read-{w}") for w in range(n)]
    for t in threads:
        t.start()
    try:
        for q in queues:
            while True:
                ok, item = q.get()
                if not ok:
                    raise cast(BaseException, item)
                if item is _DONE:
                    break
                yield cast(R, item)
    finally:
        stop.set()
        for t in threads:
            t.join()


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """``items`` produced by a background thread, up to ``depth`` ahead of the consumer.

    Closing the result stops the thread and closes ``items`` there; an exception in the
    thread is raised to the consumer.
    """
    q: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        item: tuple[bool, object] = (True, _DONE)
        try:
            try:
                for value in items:
                    while not stop.is_set():
                        try:
                            q.put((True, value), timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the consumer
            item = (False, exc)
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, daemon=True, name="db4ai-prefetch")
    thread.start()
    try:
        while True:
            ok, value = q.get()
            if not ok:
                raise cast(BaseException, value)
            if value is _DONE:
                return
            yield cast(T, value)
    finally:
        stop.set()
        thread.join()
