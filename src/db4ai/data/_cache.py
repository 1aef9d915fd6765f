"""A local cache of query results over immutable db4ai snapshots.

Rule: a query is cached only when every relation it names is a db4ai snapshot view and it
calls no volatile function. The key holds each snapshot's catalog ``id`` and ``created``
(a purged and re-created snapshot of the same name gets a new id, so it is never served
stale), the query text, the role and the database. Tables, ordinary views and anything
else are never cached: they may change between reads.

Storage: chunks stay in memory while the cache holds less than ``memory_limit`` bytes; later
chunks go to files in ``directory`` that are memory-mapped when read (so a pass over them
touches one chunk at a time); past ``disk_limit`` the entry is dropped and the next pass
re-streams from the database. An entry becomes visible only once a read completed.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import sqlglot
import sqlglot.expressions as exp
from psycopg import sql

from ._frame import Frame
from ._types import Column

MiB = 1 << 20
_UNSAFE_FUNCTIONS = ("Current", "Rand", "Uuid", "NextValue")


@dataclass(frozen=True)
class CacheKey:
    """Identity of a cacheable read (see the module docstring for the rule)."""

    database: str
    role: str
    query: str
    snapshots: tuple[tuple[int, str], ...]  # (catalog id, created) of each snapshot read


def _relations_and_functions(query: str) -> tuple[list[str], list[str], bool] | None:
    """Relation names, names of unknown functions, and whether a known volatile one is used."""
    try:
        tree = sqlglot.parse_one(query.strip().rstrip(";"), read="postgres")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        return None
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    relations = []
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Func):
            continue  # a function in FROM: checked with the other functions
        if not table.args.get("db") and table.name in ctes:
            continue
        bare = table.copy()
        bare.set("alias", None)
        bare.set("only", None)
        relations.append(bare.sql(dialect="postgres"))
    unknown, unsafe = [], False
    for func in tree.find_all(exp.Func):
        if isinstance(func, exp.Anonymous):
            unknown.append(func.name)
        elif type(func).__name__.startswith(_UNSAFE_FUNCTIONS):
            unsafe = True
    return relations, unknown, unsafe


_SNAPSHOTS_SQL = sql.SQL("""
SELECT s.id::int8, s.created::text
  FROM unnest(%s::text[]) AS r(name)
  LEFT JOIN pg_class c ON c.oid = to_regclass(r.name)
  LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN db4ai.snapshot s ON s.schema = n.nspname AND s.name = c.relname AND c.relkind = 'v'
""")

# Every function called by name must exist and have only IMMUTABLE overloads.
_IMMUTABLE_SQL = sql.SQL("""
SELECT coalesce(bool_and(EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname IN (f, lower(f)))
                         AND NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname IN (f, lower(f))
                                                                   AND p.provolatile <> 'i')), true)
  FROM unnest(%s::text[]) AS u(f)
""")


def cache_key(conn: psycopg.Connection, query: str) -> CacheKey | None:
    """The cache key of ``query``, or None when it may not be cached (see module docstring)."""
    found = _relations_and_functions(query)
    if found is None:
        return None
    relations, functions, unsafe = found
    if not relations or unsafe:
        return None
    try:
        with conn.transaction(), conn.cursor() as cur:
            if cur.execute(sql.SQL("SELECT to_regclass('db4ai.snapshot') IS NULL")).fetchone()[0]:  # type: ignore[index]
                return None
            rows = cur.execute(_SNAPSHOTS_SQL, (relations,)).fetchall()
            if any(r[0] is None for r in rows):
                return None
            if not cur.execute(_IMMUTABLE_SQL, (functions,)).fetchone()[0]:  # type: ignore[index]
                return None
            role = cur.execute(sql.SQL("SELECT current_user")).fetchone()[0]  # type: ignore[index]
    except psycopg.Error:
        return None  # e.g. no privilege on the catalog: read without the cache
    info = conn.info
    database = f"{info.host}:{info.port}/{info.dbname}"
    return CacheKey(database, str(role), query, tuple(sorted({(int(i), str(c)) for i, c in rows})))


@dataclass
class _DiskChunk:
    """A Frame stored in a file: (name, is_mask, dtype, shape, offset) per array."""

    path: Path
    length: int
    layout: list[tuple[str, bool, str, tuple[int, ...], int]]

    def load(self, columns: tuple[Column, ...]) -> Frame:
        arrays: dict[str, np.ndarray] = {}
        nulls: dict[str, np.ndarray] = {}
        for name, is_mask, dtype, shape, offset in self.layout:
            if int(np.prod(shape)) == 0:
                a = np.zeros(shape, dtype=dtype)
            else:
                a = np.memmap(self.path, dtype=dtype, mode="r", offset=offset, shape=shape)
            (nulls if is_mask else arrays)[name] = a
        return Frame(columns, arrays, nulls, self.length)


@dataclass
class _Entry:
    columns: tuple[Column, ...]
    chunks: list[Frame | _DiskChunk] = field(default_factory=list)
    memory: int = 0
    disk: int = 0

    def frames(self) -> Iterator[Frame]:
        for chunk in self.chunks:
            yield chunk.load(self.columns) if isinstance(chunk, _DiskChunk) else chunk


class Cache:
    """Query results over snapshots kept for repeated passes (see the module docstring).

    ``memory_limit`` bytes in memory (default 256 MiB), then memory-mapped files in
    ``directory`` (default: a temporary folder removed by :meth:`close`) up to
    ``disk_limit`` bytes (None: no limit; 0: never spill, re-stream instead).
    """

    def __init__(self, memory_limit: int = 256 * MiB, directory: str | None = None,
                 disk_limit: int | None = None):
        if memory_limit < 0 or (disk_limit is not None and disk_limit < 0):
            raise ValueError("cache limits must not be negative")
        self.memory_limit = memory_limit
        self.disk_limit = disk_limit
        self._own_dir = directory is None
        self._dir = Path(directory) if directory else None
        self._entries: dict[CacheKey, _Entry] = {}
        self._memory = 0
        self._disk = 0
        self._files = 0
        self._lock = threading.Lock()

    # -- public --------------------------------------------------------------------------
    @property
    def memory_used(self) -> int:
        return self._memory

    @property
    def disk_used(self) -> int:
        return self._disk

    def __contains__(self, key: CacheKey) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def frames(self, key: CacheKey) -> Iterator[Frame] | None:
        """The cached chunks of ``key`` in scan order, or None when not cached."""
        entry = self._entries.get(key)
        return None if entry is None else entry.frames()

    def columns(self, key: CacheKey) -> tuple[Column, ...] | None:
        entry = self._entries.get(key)
        return None if entry is None else entry.columns

    def record(self, key: CacheKey, columns: tuple[Column, ...], frames: Iterator[Frame]) -> Iterator[Frame]:
        """Pass ``frames`` through, storing them; the entry is kept only if all were read."""
        entry: _Entry | None = _Entry(columns)
        complete = False
        try:
            for frame in frames:
                if entry is not None and not self._add(entry, frame):
                    self._drop(entry)
                    entry = None
                yield frame
            complete = True
        finally:
            if entry is not None:
                if complete:
                    with self._lock:
                        old = self._entries.pop(key, None)
                        self._entries[key] = entry
                    if old is not None:
                        self._drop(old)
                else:
                    self._drop(entry)

    def clear(self) -> None:
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            self._drop(entry)

    def close(self) -> None:
        """Forget every entry and remove the files (and the folder if the cache made it)."""
        self.clear()
        if self._own_dir and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            if self._own_dir and self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
        except Exception:
            pass

    # -- storage -------------------------------------------------------------------------
    def _add(self, entry: _Entry, frame: Frame) -> bool:
        size = frame.nbytes()
        with self._lock:
            if self._memory + size <= self.memory_limit:
                self._memory += size
                entry.memory += size
                entry.chunks.append(_copy(frame))
                return True
            if self.disk_limit is not None and self._disk + size > self.disk_limit:
                return False
            self._disk += size
            entry.disk += size
            self._files += 1
            path = self._directory() / f"chunk{self._files}.bin"
        entry.chunks.append(_write(path, frame))
        return True

    def _drop(self, entry: _Entry) -> None:
        with self._lock:
            self._memory -= entry.memory
            self._disk -= entry.disk
        for chunk in entry.chunks:
            if isinstance(chunk, _DiskChunk):
                chunk.path.unlink(missing_ok=True)
        entry.chunks.clear()

    def _directory(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="db4ai-cache-"))
        self._dir.mkdir(parents=True, exist_ok=True)
        return self._dir


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True, order="C")
    a.flags.writeable = False
    return a


def _copy(frame: Frame) -> Frame:
    """A read-only copy, so that callers changing their arrays cannot change the cache."""
    return Frame(frame.columns, {k: _frozen(v) for k, v in frame.arrays.items()},
                 {k: _frozen(v) for k, v in frame.nulls.items()}, len(frame))


def _write(path: Path, frame: Frame) -> _DiskChunk:
    layout = []
    offset = 0
    with open(path, "wb") as fh:
        for is_mask, arrays in ((False, frame.arrays), (True, frame.nulls)):
            for name, a in arrays.items():
                a = np.ascontiguousarray(a)
                fh.write(a.tobytes())
                layout.append((name, is_mask, a.dtype.str, a.shape, offset))
                offset += a.nbytes
    return _DiskChunk(path, len(frame), layout)
