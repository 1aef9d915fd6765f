"""k-means as openGauss computes it (executor/algorithms/kmeans.cpp), on points held in memory.

The stages and the order of random draws follow openGauss exactly, so that the same rows and seed
give the same centroids, in the same order (centroid ids are 1-based selection order):

1. **Seeding candidates** from ``std::mt19937_64(seed ^ 0x274066DB9441E851)``; every pass draws one
   uniform double for every row whose array is not NULL, dead points included, in scan order.

   * ``Random++``: each valid point becomes a candidate when its draw is below ``4k/n`` (1 when
     ``k >= n``); passes repeat until there are ``min(4k, n)`` candidates (a point may be drawn twice).
   * ``KMeans||``: the first pass stops at the first point whose draw is below ``4/n``; then each of
     at most 10 rounds samples every point with probability ``4k · d(x) / cost`` (``d`` the squared
     distance to the nearest candidate so far, candidates added earlier in the same pass included),
     repeating a pass that finds nothing, and computes the cost of the candidates. A candidate's
     weight is 1 plus the number of points nearest to it.

2. **Weighted k-means++** over the candidates (squared Euclidean distance whatever the model's
   distance function): the list is scanned from its head, one draw per candidate, until a draw
   falls below the candidate's probability (``1/m`` for the first centroid, ``1`` when ``m <= k``;
   later weighted distance / sum of weighted distances); the chosen one leaves the list and the
   scan restarts from the head.

3. **Lloyd iterations** with the model's distance: each point goes to its nearest centroid (the
   first one on ties), every centroid moves to the mean of its points (an empty one stays), until
   ``prev_cost / cost - 1 < tolerance``, ``max_iterations`` or ``n <= k``. The model keeps the
   centroids of the last assignment with that assignment's statistics, as openGauss does.

Quotients are computed as openGauss's ``twoDiv`` does, ``a · (1/b)``, and costs are summed in
openGauss's order, so the iteration count and the printed values agree with its NOTICEs.
Distances to many candidates use ``‖x‖² − 2x·c + ‖c‖²`` to find the nearest one and then the
direct formula for the distance itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .mt19937 import MT19937_64, opengauss_stream

DISTANCES = ("L1", "L2", "L2_Squared", "Linf")
SEEDINGS = ("Random++", "KMeans||")
KMEANS_BB_ROUNDS = 10  # openGauss's NUM_ITERATIONS_KMEANSBB
DBL_MAX = 1.7976931348623157e308
#: Elements of a (rows x centroids) block of distances computed at once, and the most rows a block
#: has: small temporaries are reused from the cache instead of being allocated fresh.
BLOCK_ELEMENTS = 1 << 20
BLOCK_ROWS = 32768
#: Points tested per step of a k-means|| sampling pass.
SAMPLE_BLOCK = 65536

NO_POINTS = ("k-means exec: no valid point found (no input array seems to be a one-dimensional array, "
             "or no point seems to be fully dimensional (perhaps all points have a null dimension?))")


@dataclass(frozen=True)
class Points:
    """The training rows: valid points and, for every row whose array is not NULL, whether it is dead."""

    X: np.ndarray  # (valid points, dimension), scan order
    dead: np.ndarray  # bool per non-NULL row in scan order
    nulls: int  # rows whose array is NULL (openGauss skips them without a draw)

    @property
    def valid_rows(self) -> np.ndarray:
        """Position of each valid point among the non-NULL rows."""
        return np.flatnonzero(~self.dead)


@dataclass(frozen=True)
class Settings:
    num_centroids: int
    distance: str = "L2_Squared"
    seeding: str = "Random++"
    max_iterations: int = 10
    tolerance: float = 0.00001
    seed: int = 1
    verbose: int = 0
    batch_size: int = 1000  # points per batch of the k-means|| cost pass (the order its sums are added in)


@dataclass(frozen=True)
class Clustering:
    """The centroids of the last assignment and that assignment's statistics, per centroid."""

    centroids: np.ndarray  # (k, d), ids 1..k in this order
    sizes: np.ndarray  # int64
    objectives: np.ndarray  # sum of distances of the cluster's points
    min_distances: np.ndarray  # 0 for an empty cluster
    max_distances: np.ndarray
    avg_distances: np.ndarray
    std_distances: np.ndarray
    iterations: int  # Lloyd iterations run
    objective: float  # the global objective (what openGauss stores as the score)


# -- distances ------------------------------------------------------------------------------------


def _row_norms(A: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", A, A)


def _block_rows(k: int) -> int:
    return max(1, min(BLOCK_ROWS, BLOCK_ELEMENTS // max(k, 1)))


def point_distances(X: np.ndarray, c: np.ndarray, kind: str) -> np.ndarray:
    """Distance of every row of ``X`` to one point ``c`` by the direct formula."""
    diff = X - c
    if kind == "L1":
        return np.abs(diff).sum(axis=1)
    if kind == "Linf":
        return np.abs(diff).max(axis=1) if diff.shape[1] else np.zeros(len(X))
    squared = np.einsum("ij,ij->i", diff, diff)
    return np.sqrt(squared) if kind == "L2" else squared


def _nearest_block(xb: np.ndarray, C: np.ndarray, kind: str, scaled: np.ndarray | None,
                   c_norms: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid (first on ties) and the distance to it, for the rows of one block."""
    if scaled is not None:  # L2, L2_Squared: argmin of ‖c‖² − 2x·c, then the distance itself
        approx = xb @ scaled
        approx += c_norms
        a = approx.argmin(axis=1)
        diff = C[a]
        diff -= xb
        d = np.einsum("ij,ij->i", diff, diff)
        return a, (np.sqrt(d) if kind == "L2" else d)
    best = np.full(len(xb), np.inf)
    a = np.zeros(len(xb), dtype=np.int64)
    for j in range(len(C)):
        dj = point_distances(xb, C[j], kind)
        better = dj < best
        best[better] = dj[better]
        a[better] = j
    return a, best


def assign_pass(X: np.ndarray, C: np.ndarray, kind: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One Lloyd pass: every point's nearest centroid and distance, and per centroid the sum of its
    points' coordinates and the number of its points."""
    n, k = len(X), len(C)
    assign = np.zeros(n, dtype=np.int64)
    dist = np.full(n, np.inf)
    sums = np.zeros((k, X.shape[1]))
    if k == 0 or n == 0:
        return assign, dist, sums, np.zeros(k, dtype=np.int64)
    euclid = kind in ("L2", "L2_Squared")
    scaled = np.ascontiguousarray(-2.0 * C.T) if euclid else None
    c_norms = _row_norms(C) if euclid else None
    step = _block_rows(k)  # so that a block's (rows x centroids) membership matrix stays small
    for lo in range(0, n, step):
        xb = X[lo : lo + step]
        a, d = _nearest_block(xb, C, kind, scaled, c_norms)
        assign[lo : lo + len(xb)] = a
        dist[lo : lo + len(xb)] = d
        members = np.zeros((len(xb), k))  # the block's coordinate sums per centroid as one product
        members[np.arange(len(xb)), a] = 1.0
        sums += members.T @ xb
    return assign, dist, sums, np.bincount(assign, minlength=k)


def absorb(X: np.ndarray, C_new: np.ndarray, first: int, mind: np.ndarray, near: np.ndarray) -> None:
    """Lower ``mind`` (squared distance to the nearest candidate) and ``near`` (its index) in place with
    the candidates ``C_new``, numbered from ``first``; earlier candidates win ties."""
    if len(C_new) == 0:
        return
    step = _block_rows(len(C_new))
    c_norms = _row_norms(C_new)
    for lo in range(0, len(X), step):
        xb = X[lo : lo + step]
        approx = _row_norms(xb)[:, None] - 2.0 * (xb @ C_new.T) + c_norms[None, :]
        a = np.argmin(approx, axis=1)
        m_b = mind[lo : lo + len(xb)]
        candidates = np.flatnonzero(approx[np.arange(len(xb)), a] <= m_b)
        if len(candidates) == 0:
            continue
        diff = xb[candidates] - C_new[a[candidates]]
        exact = np.einsum("ij,ij->i", diff, diff)
        better = exact < m_b[candidates]
        rows = candidates[better]
        m_b[rows] = exact[better]
        near[lo + rows] = first + a[candidates][better]


def _cumulative(values: np.ndarray) -> float:
    """Left-to-right float sum (openGauss adds in order)."""
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


def _ratio(a: float, b: float) -> float:
    """openGauss's ``twoDiv(a, b)``: ``a · (1/b)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) * (np.float64(1.0) / np.float64(b)))


# -- seeding --------------------------------------------------------------------------------------


@dataclass
class _Run:
    """What every stage shares: the points, the generator, the NOTICE sink and the clock."""

    points: Points
    settings: Settings
    rng: MT19937_64
    notice: Callable[[str], None]
    clock: Callable[[], float]

    def verbose(self, level: int, message: str) -> None:
        if self.settings.verbose >= level:
            self.notice(message)


def random_pp(run: _Run, k: int, k_requested: int, factor: float) -> np.ndarray:
    """Random++ candidates (indices of valid points, in the order drawn)."""
    points = run.points
    n = len(points.X)
    oversampling = factor * k_requested
    p = 1.0 if k >= n else oversampling / n
    run.verbose(1, f"*** random++ oversampling factor: {factor:f}, expected number of candidates: {int(oversampling)}")
    valid = ~points.dead
    rank = np.cumsum(valid) - 1  # valid point index of each row
    chosen: list[np.ndarray] = []
    count = 0
    while True:
        coins = run.rng.uniform(len(points.dead))
        taken = valid & ~(coins >= p)
        chosen.append(rank[taken])
        count += int(taken.sum())
        if not (count < n and count < oversampling):
            break
    return np.concatenate(chosen)


def kmeans_bb(run: _Run, k: int, k_requested: int, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """KMeans|| candidates (indices of valid points) and their weights."""
    points = run.points
    X = points.X
    n = len(X)
    oversampling = factor * k_requested
    p = 1.0 if k >= n else factor / n
    run.verbose(1, f"*** k-means|| oversampling factor: {factor:f}, "
                   f"expected number of candidates per round: {int(oversampling)}")
    valid_rows = points.valid_rows
    n_rows = len(points.dead)
    chosen: list[int] = []
    mind = np.full(n, np.inf)
    near = np.full(n, -1, dtype=np.int64)
    absorbed = 0  # candidates that mind and near account for
    round_no = 0
    while True:
        started = run.clock()
        while True:
            before = len(chosen)
            if not chosen:
                coins = run.rng.peek(n_rows)[valid_rows]
                hits = np.flatnonzero(~(coins >= p))
                if len(hits):
                    first = int(hits[0])
                    run.rng.skip(int(valid_rows[first]) + 1)  # the pass stops at its first candidate
                    chosen.append(first)
                else:
                    run.rng.skip(n_rows)
            else:
                coins = run.rng.uniform(n_rows)[valid_rows]
                _sample_pass(X, coins, p, chosen, mind)
            if len(chosen) > before:
                break
        absorb(X, X[chosen[absorbed:]], absorbed, mind, near)
        absorbed = len(chosen)
        cost = _batch_cost(mind, run.settings.batch_size)
        p = _ratio(oversampling, cost)
        round_no += 1
        run.verbose(2, f"*** k-means|| round {round_no} stats: cost: {cost:f}, total number of candidates: "
                       f"{len(chosen)}, duration (s): {run.clock() - started:0.6f}")
        if not (round_no < KMEANS_BB_ROUNDS and len(chosen) < n):
            break
    weights = np.bincount(near, minlength=len(chosen)).astype(np.float64) + 1.0
    return np.asarray(chosen, dtype=np.int64), weights


def _batch_cost(mind: np.ndarray, batch_size: int) -> float:
    """The cost pass: per-batch sums of the squared distances, added in order."""
    batch = max(1, batch_size)
    sums = np.add.reduceat(mind, np.arange(0, len(mind), batch)) if len(mind) else np.zeros(0)
    return _cumulative(sums)


def _sample_pass(X: np.ndarray, coins: np.ndarray, p: float, chosen: list[int], mind: np.ndarray) -> None:
    """One k-means|| sampling pass after the first round: candidates join ``chosen`` in scan order and
    count for the points after them. ``mind`` covers the candidates from before the pass."""
    n = len(X)
    work = mind.copy()
    start_count = len(chosen)
    for lo in range(0, n, SAMPLE_BLOCK):
        hi = min(n, lo + SAMPLE_BLOCK)
        seg = work[lo:hi]
        earlier = chosen[start_count:]
        if earlier:
            near = np.zeros(hi - lo, dtype=np.int64)
            absorb(X[lo:hi], X[earlier], 0, seg, near)
        start = 0
        while start < hi - lo:
            with np.errstate(invalid="ignore", over="ignore"):
                taken = ~(coins[lo + start : hi] >= p * seg[start:])
            hits = np.flatnonzero(taken)
            if len(hits) == 0:
                break
            j = start + int(hits[0])
            chosen.append(lo + j)
            rest = X[lo + j + 1 : hi]
            if len(rest):
                np.minimum(seg[j + 1 :], point_distances(rest, X[lo + j], "L2_Squared"), out=seg[j + 1 :])
            start = j + 1


def kmeanspp(run: _Run, candidates: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Weighted k-means++ over the candidate points (rows of ``candidates``): the chosen rows in order."""
    m = len(candidates)
    alive = np.arange(m)
    dtc = np.full(m, DBL_MAX)
    first_probability = 1.0 if m <= k else 1.0 / m
    total = 0.0
    chosen: list[int] = []
    while len(chosen) < k and len(alive):
        draws = run.rng.peek(len(alive))
        if chosen:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                probability = dtc[alive] * (np.float64(1.0) / np.float64(total))
        else:
            probability = np.full(len(alive), first_probability)
        hits = np.flatnonzero(~(draws >= probability))
        if len(hits) == 0:
            run.rng.skip(len(alive))
            continue
        i = int(hits[0])
        run.rng.skip(i + 1)
        c = int(alive[i])
        chosen.append(c)
        alive = np.delete(alive, i)
        if len(alive) == 0:
            break
        d = point_distances(candidates[alive], candidates[c], "L2_Squared") * weights[alive]
        current = dtc[alive]
        dtc[alive] = d if len(chosen) == 1 else np.where(d < current, d, current)
        total = _cumulative(dtc[alive])
    return np.asarray(chosen, dtype=np.int64)


# -- Lloyd ----------------------------------------------------------------------------------------


def _stats_line(t: int, seconds: float, dist: np.ndarray, total: float, fraction: float) -> str:
    n = len(dist)
    mean = total / n if n else 0.0
    std = float(np.sqrt(np.sum((dist - mean) ** 2) / n)) if n else 0.0
    return (f"*** iteration {t}: duration (s): {seconds:0.6f}, total relevant population {n}, "
            f"total cost {total:0.6f}, average distance {mean:0.6f}, min distance {float(dist.min()):0.6f}, "
            f"max distance {max(0.0, float(dist.max())):0.6f}, standard deviation of distances {std:0.6f}, "
            f"cost delta: {fraction:0.6f}")


def lloyd(run: _Run, C: np.ndarray) -> Clustering:
    """Lloyd iterations from the seed centroids ``C`` (k, d)."""
    X = run.points.X
    s = run.settings
    n, k = len(X), len(C)
    prev_total = 0.0
    t = 1
    while True:
        started = run.clock()
        assign, dist, sums, sizes = assign_pass(X, C, s.distance)
        objectives = np.bincount(assign, weights=dist, minlength=k)
        total = _cumulative(objectives)
        fraction = 1.0 if t == 1 else _ratio(prev_total, total) - 1.0
        with np.errstate(divide="ignore"):
            inverse = np.where(sizes > 0, 1.0 / np.maximum(sizes, 1), 0.0)
        moved = np.where((sizes > 0)[:, None], sums * inverse[:, None], C)
        run.verbose(2, _stats_line(t, run.clock() - started, dist, total, fraction))
        t += 1
        if not (t <= s.max_iterations and fraction >= s.tolerance and n > k):
            break
        C, prev_total = moved, total
    return _clustering(C, assign, dist, sizes, objectives, t - 1)


def _clustering(C: np.ndarray, assign: np.ndarray, dist: np.ndarray, sizes: np.ndarray,
                objectives: np.ndarray, iterations: int) -> Clustering:
    k = len(C)
    mins = np.full(k, DBL_MAX)
    maxs = np.zeros(k)
    np.minimum.at(mins, assign, dist)
    np.maximum.at(maxs, assign, dist)
    mins[sizes == 0] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(sizes > 0, objectives / np.maximum(sizes, 1), 0.0)
        spread = np.bincount(assign, weights=(dist - means[assign]) ** 2, minlength=k)
        stds = np.where(sizes > 0, np.sqrt(spread / np.maximum(sizes, 1)), 0.0)
    return Clustering(
        centroids=np.ascontiguousarray(C), sizes=sizes.astype(np.int64), objectives=objectives,
        min_distances=mins, max_distances=maxs, avg_distances=means, std_distances=stds,
        iterations=iterations, objective=math.fsum(objectives.tolist()))


# -- the whole run --------------------------------------------------------------------------------


def fit(points: Points, settings: Settings, *, notice: Callable[[str], None] = lambda m: None,
        clock: Callable[[], float] = time.monotonic, initial_seconds: float = 0.0) -> Clustering:
    """Cluster ``points`` as openGauss does; ``notice`` receives the verbose lines after the
    initial statistics (which the caller prints, having read the rows)."""
    n = len(points.X)
    if n == 0:
        raise DataError(NO_POINTS)
    run = _Run(points, settings, opengauss_stream(settings.seed), notice, clock)
    k_requested = settings.num_centroids
    k = min(k_requested, n)
    factor = 4.0 if k_requested < 1_000_000 else 2.0
    started = clock()
    if settings.seeding == "KMeans||":
        chosen, weights = kmeans_bb(run, k, k_requested, factor)
    else:
        chosen = random_pp(run, k, k_requested, factor)
        weights = np.ones(len(chosen))
    run.verbose(1, f"*** k-means++ begin: consolidating {len(chosen)} candidates to {k} centroid(s)")
    pp_started = clock()
    selected = kmeanspp(run, points.X[chosen], weights, k)
    run.verbose(2, f"*** k-means++ ended: duration (s): {clock() - pp_started:0.6f}")
    seeding_seconds = clock() - started
    run.verbose(2, f"*** Seed centroids constructed ({n}, {len(selected)}): duration (s): {seeding_seconds:0.6f}")
    C = np.zeros((k, points.X.shape[1]))
    C[: len(selected)] = points.X[chosen[selected]]
    lloyd_started = clock()
    result = lloyd(run, C)
    total_seconds = initial_seconds + seeding_seconds + (clock() - lloyd_started)
    run.verbose(1, f"*** Number of centroids constructed:    {k}")
    run.verbose(1, f"*** Value of global objective function: {_cumulative(result.objectives):0.6f}")
    run.verbose(1, f"*** Seed:                               {settings.seed}")
    run.verbose(2, f"*** Total duration time (s):            {total_seconds:0.6f}")
    return result


def initial_statistics(dimension: int, valid: int, dead: int, seconds: float, verbose: int) -> list[str]:
    """openGauss's NOTICEs after its first pass over the rows."""
    if verbose < 1:
        return []
    lines = ["*** Initial statistics gathered:", f"*** Dimension used for computations: {dimension}",
             f"*** Number of valid points: {valid}", f"*** Number of dead points:  {dead}"]
    if verbose >= 2:
        lines.append(f"*** Duration (s):           {seconds:0.6f}")
    return lines


__all__ = [
    "DISTANCES",
    "NO_POINTS",
    "SEEDINGS",
    "Clustering",
    "Points",
    "Settings",
    "absorb",
    "assign_pass",
    "fit",
    "initial_statistics",
    "kmeans_bb",
    "kmeanspp",
    "lloyd",
    "point_distances",
    "random_pp",
]
