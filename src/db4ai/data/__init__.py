"""Moving rows from PostgreSQL into numpy fast, in bounded memory.

``read``/``stream`` give typed columns with NULL masks (:class:`Frame`); ``read_matrix``/
``stream_matrix`` give float64 training matrices (:class:`Matrix`); :class:`Cache` keeps
results over immutable snapshots for repeated passes; :class:`BatchFeeder` cuts matrices
into batches with background prefetch; :func:`sequences` groups rows into padded, masked
batches of ordered sequences. ``db4ai.data.torch`` adapts a query to PyTorch (ranks x workers).

How rows travel (``_reader`` picks the first that applies): a scan of a Citus distributed
table (or of a snapshot stored in one) is read shard by shard from the workers (``_shards``);
a plain scan of one table is cut into ctid page ranges, and for each the server aggregates
every column into one array sent in binary (``array_send``), which numpy views without
per-row Python (``parallel`` connections share the ranges, on one exported snapshot); any
other large query of scalar columns streams through ADBC's C++ binary COPY parser into Arrow
(``_arrow``); anything else is cut into row-number groups packed on the server. ``parallel``
defaults to the session's ``db4ai.parallel`` setting, else to the client's CPUs (at most the
server's ``max_parallel_workers``): :func:`resolve_parallel`.

Memory (client side, per read; ``b`` = bytes of one chunk, at most ``chunk_rows`` x 8-12 bytes
per column: a chunk never holds more than ``chunk_rows`` rows):

* ``stream``/``stream_matrix``: about ``2 b`` (``3 b`` per connection with ``parallel``),
  independent of the number of rows;
* ``read``/``read_matrix``: the whole result, plus a second copy while chunks are joined;
* ``Cache``: at most ``memory_limit`` bytes in memory; beyond that chunks go to files that
  are memory-mapped one chunk at a time, up to ``disk_limit`` (then nothing is cached and the
  next pass streams from the database again);
* ``BatchFeeder``: ``prefetch`` batches ahead, plus one window of ``shuffle_window`` batches
  when it shuffles a streamed source.

On the server, a non-table query is aggregated as a whole before the first chunk is sent;
beyond ``work_mem`` (times ``hash_mem_multiplier``) PostgreSQL spills it to temporary files.
"""

from ._cache import Cache, CacheKey, cache_key
from ._frame import Frame, Matrix
from ._parallel import SETTING as PARALLEL_SETTING
from ._parallel import resolve_parallel
from ._points import first_array_length, points_query
from ._reader import read, read_matrix, stream, stream_matrix, stream_part
from ._sequences import SequenceBatch, sequence_items, sequences
from ._types import Column, describe
from .feeder import BatchFeeder

__all__ = [
    "PARALLEL_SETTING",
    "BatchFeeder",
    "Cache",
    "CacheKey",
    "Column",
    "Frame",
    "Matrix",
    "SequenceBatch",
    "cache_key",
    "describe",
    "first_array_length",
    "points_query",
    "read",
    "read_matrix",
    "resolve_parallel",
    "sequence_items",
    "sequences",
    "stream",
    "stream_matrix",
    "stream_part",
]
