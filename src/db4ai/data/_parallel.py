"""Reading one query over several connections that share one snapshot of the database.

The caller's connection exports its snapshot (``pg_export_snapshot``); every extra
connection imports it (``SET TRANSACTION SNAPSHOT``), so all readers see the same rows.
Worker ``w`` of ``n`` handles tasks ``w, w + n, ...``; results come back in task order
through one small queue per worker, which bounds memory to about ``2 n`` chunks.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TypeVar, cast

import psycopg

from ..server import sibling_conninfo
from psycopg import sql

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


@contextmanager
def snapshot_sharing(conn: psycopg.Connection, extra: int, setup: Callable[[psycopg.Connection], object]
                     ) -> Iterator[list[psycopg.Connection]]:
    """``extra`` new connections in REPEATABLE READ transactions on ``conn``'s snapshot.

    ``conn`` must already be inside a transaction (the read's own).
    """
    snapshot = conn.execute(sql.SQL("SELECT pg_export_snapshot()")).fetchone()[0]  # type: ignore[index]
    info = sibling_conninfo(conn)
    with ExitStack() as stack:
        conns = []
        for _ in range(extra):
            other = stack.enter_context(psycopg.connect(info, autocommit=True))
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            other.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
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
