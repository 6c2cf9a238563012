"""Distribution-free confidence intervals, so that a verdict can tell a real breach from noise.

A P95 measured on 40 requests says little about the P95 of the platform. Whatever the latency
distribution, the number B of samples below the true q-quantile is Binomial(n, q), so the order
statistics X_(l) and X_(u) bracket the quantile with probability P(l <= B <= u - 1). We pick l and u
with at most 2.5% of that probability outside on each side (a 95% interval), using the exact
binomial distribution (summed in log space over the window that carries any probability mass), and
a normal approximation with continuity correction for very large n. A side that no rank can bound
at this n (for example the upper side of a P99 from 100 samples) is None: the interval is open
there, and that is what makes a small run INCONCLUSIVE rather than PASS.

Rates get a Wilson score interval, which behaves well near 0 (no errors in n requests).
"""

from __future__ import annotations

import math
from typing import Protocol


class RankedSamples(Protocol):
    """What `percentile_ci` needs of a histogram (agentload.recording.Histogram has it)."""

    count: int

    def value_at_rank(self, rank: int) -> float: ...


Z_95 = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""

EXACT_LIMIT = 1_000_000
"""Above this many samples the normal approximation is used (its error is far below one rank)."""


def quantile_ci_ranks(n: int, q: float, confidence: float = 0.95) -> tuple[int | None, int | None]:
    """1-based ranks (l, u) with P(X_(l) <= quantile_q <= X_(u)) >= confidence; None where unbounded.

    Each side leaves out at most (1 - confidence) / 2, e.g. n=100, q=0.5 gives (40, 61).
    """
    if n < 1 or not 0 < q < 1 or not 0 < confidence < 1:
        raise ValueError(f"need n >= 1, 0 < q < 1 and 0 < confidence < 1 (got n={n}, q={q}, {confidence})")
    tail = (1 - confidence) / 2
    if n > EXACT_LIMIT:
        below, above = _normal_ranks(n, q, tail)
    else:
        below, above = _exact_ranks(n, q, tail)
    low = below + 1 if below >= 0 else None
    high = above + 1 if above < n else None
    return low, high


def percentile_ci(histogram: RankedSamples, percent: float) -> tuple[float | None, float | None]:
    """The 95% confidence interval of the `percent`-th percentile as sample values (None: unbounded)."""
    if histogram.count < 1:
        return None, None
    ranks = quantile_ci_ranks(histogram.count, percent / 100)
    low, high = (histogram.value_at_rank(rank) if rank is not None else None for rank in ranks)
    return low, high


def _exact_ranks(n: int, q: float, tail: float) -> tuple[int, int]:
    """(largest k with F(k) <= tail, smallest k with F(k) >= 1 - tail), F the Binomial(n, q) CDF."""
    mean, sd = n * q, math.sqrt(n * q * (1 - q))
    first = max(0, math.floor(mean - 20 * sd - 50))  # the mass below is < 1e-80: treated as 0
    last = min(n, math.ceil(mean + 20 * sd + 50))
    below, above = first - 1, n
    cdf = 0.0
    for k in range(first, last + 1):
        cdf += math.exp(_log_binomial_pmf(n, k, q))
        if cdf <= tail:
            below = k
        if cdf >= 1 - tail:
            above = k
            break
    return below, above


def _log_binomial_pmf(n: int, k: int, q: float) -> float:
    log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return log_comb + k * math.log(q) + (n - k) * math.log1p(-q)


def _normal_ranks(n: int, q: float, tail: float) -> tuple[int, int]:
    """The same as `_exact_ranks`, from the normal approximation with continuity correction."""
    mean, sd = n * q, math.sqrt(n * q * (1 - q))
    z = _z_for_tail(tail)
    return math.floor(mean - z * sd - 0.5), math.ceil(mean + z * sd - 0.5)


def _z_for_tail(tail: float) -> float:
    """The standard normal quantile z with P(Z > z) = tail, by bisection on erfc (no scipy)."""
    if math.isclose(tail, 0.025):
        return Z_95
    low, high = 0.0, 40.0
    for _ in range(200):
        mid = (low + high) / 2
        if math.erfc(mid / math.sqrt(2)) / 2 > tail:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def min_samples_for_upper_bound(q: float, confidence: float = 0.95) -> int:
    """The smallest n at which the q-quantile has an upper confidence bound: 1 - q**n >= 1 - tail."""
    tail = (1 - confidence) / 2
    n = max(1, math.ceil(math.log(tail) / math.log(q)))
    while 1 - q**n < 1 - tail:  # guard the float rounding of the logarithms
        n += 1
    return n


def min_samples_for_lower_bound(q: float, confidence: float = 0.95) -> int:
    """The smallest n at which the q-quantile has a lower confidence bound: 1 - (1 - q)**n >= 1 - tail."""
    return min_samples_for_upper_bound(1 - q, confidence)


def wilson_interval(events: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion `events / n`; None when n is 0."""
    if n <= 0:
        return None
    p = events / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if events <= 0 else max(0.0, centre - half)
    high = 1.0 if events >= n else min(1.0, centre + half)
    return low, high
