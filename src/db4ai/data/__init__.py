"""Moving rows from PostgreSQL into numpy fast, in bounded memory.

``read``/``stream`` give typed columns with NULL masks (:class:`Frame`); ``read_matrix``/
``stream_matrix`` give float64 training matrices (:class:`Matrix`); :class:`Cache` keeps
results over immutable snapshots for repeated passes; :class:`BatchFeeder` cuts matrices
into batches with background prefetch. ``db4ai.data.torch`` adapts a query to PyTorch.

How rows travel: for each chunk the server aggregates every column into one array and sends
it in binary (``array_send``); numpy views it without per-row Python. A query that is a
plain scan of one table is cut into ctid page ranges (``parallel`` connections can share
them, on one exported snapshot); any other query (views, snapshots, joins, ORDER BY) is cut
into row-number groups on the server.

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
from ._reader import read, read_matrix, stream, stream_matrix, stream_part
from ._types import Column, describe
from .feeder import BatchFeeder

__all__ = [
    "BatchFeeder",
    "Cache",
    "CacheKey",
    "Column",
    "Frame",
    "Matrix",
    "cache_key",
    "describe",
    "read",
    "read_matrix",
    "stream",
    "stream_matrix",
    "stream_part",
]
