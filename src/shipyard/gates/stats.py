"""Is the candidate really better? Bootstrap intervals, McNemar's test and multiple-testing corrections.

>>> result = paired_bootstrap("roc_auc", y_true, champion_scores, candidate_scores)
>>> result.low > 0          # the candidate's AUC is higher: the 95 % interval of the difference excludes 0

**The bootstrap** resamples rows with replacement. A resample is a vector of counts (how often each row was
drawn, summing to n: the multinomial weights of the classical bootstrap), and every metric in
:mod:`shipyard.gates.metrics` is a kernel over such weight vectors, so a chunk of resamples is evaluated in a
few numpy passes: for roc_auc the rows are sorted once, and each resample costs a gather and weighted
cumulative sums, O(n). Chunks hold at most :data:`CHUNK_BYTES` of weights (a kernel makes a few temporaries
of that size), so memory stays bounded whatever n and the number of resamples.

- *Paired*: champion and candidate are scored on the same resamples of the same rows, so the interval of
  their difference is not widened by row-to-row noise both models share.
- *Percentile interval*: the ``(1 − confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the resampled
  values (linear interpolation). BCa would need a jackknife, n more metric evaluations, which costs more
  than the whole bootstrap for large n; at gate sizes (hundreds of rows and up) percentile intervals of
  these smooth metrics are close to nominal coverage (the tests check it).
- *Reproducible*: resample ``r`` of seed ``s`` is the same whatever the chunk size, so results depend on the
  seed only, never on :data:`CHUNK_BYTES` or the machine.
- *Undefined resamples*: a resample on which a metric is undefined (e.g. one without a positive row, for
  roc_auc) is left out, and ``resamples`` in the result counts those used; if fewer than half are usable the
  data is too small to bootstrap and InvalidInput says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shipyard.core.errors import InvalidInput
from shipyard.gates.metrics import FloatArray, check_metric

CHUNK_BYTES = 16 * 2**20
"""Size of one chunk of resample weights (a resamples × rows float64 matrix)."""
EXACT_BELOW = 25
"""McNemar's test is exact (binomial) below this many discordant pairs, chi-square from it on."""


@dataclass(frozen=True)
class BootstrapResult:
    """The interval of ``metric(b) − metric(a)`` (candidate minus champion) on the same rows."""

    difference: float  # on the full data
    low: float
    high: float
    resamples: int  # used: resamples on which the metric was undefined are left out
    confidence: float
    method: str


@dataclass(frozen=True)
class MetricInterval:
    """The bootstrap interval of one model's metric."""

    value: float  # on the full data
    low: float
    high: float
    resamples: int
    confidence: float
    method: str


@dataclass(frozen=True)
class McNemarResult:
    """``b01``: rows only model b gets right; ``b10``: rows only model a gets right."""

    b01: int
    b10: int
    statistic: float  # exact test: the smaller of b01 and b10; chi-square test: the corrected chi-square
    p_value: float  # two-sided
    method: str


def resample_weights(n: int, resamples: int, *, seed: int = 0) -> Iterator[FloatArray]:
    """Bootstrap resamples of ``n`` rows as ``(chunk, n)`` matrices of draw counts, chunk by chunk.

    Each row of a chunk counts how often each of the n rows was drawn in n draws with replacement. The
    draws are ``floor(u · n)`` of uniform doubles, one per draw, rather than ``Generator.integers``: a
    generator yields the same doubles however they are split into calls, so resample r is the same for
    every chunk size.
    """
    _check_count("n", n)
    _check_count("resamples", resamples)
    rng = np.random.default_rng(_seed(seed))
    rows = max(1, CHUNK_BYTES // (8 * n))
    # A generator expression, not a generator function: the checks above run at the call, not at first use.
    return (_draw_counts(rng, min(rows, resamples - start), n) for start in range(0, resamples, rows))


def bootstrap_replicates(
    metric: str, y_true: npt.ArrayLike, *predictions: npt.ArrayLike, resamples: int = 1000, seed: int = 0
) -> FloatArray:
    """The metric of each of ``predictions`` on each resample: ``(len(predictions), resamples)``, nan where undefined.

    All predictions are evaluated on the same resamples (those of :func:`resample_weights`).
    """
    spec = check_metric(metric)
    truth = np.asarray(y_true)
    if truth.ndim != 1 or len(truth) == 0:
        raise InvalidInput(f"y_true must be one-dimensional with at least one row; got shape {truth.shape}.")
    chunks = resample_weights(len(truth), resamples, seed=seed)
    kernels = [spec.prepare(truth, np.asarray(p)) for p in predictions]
    out = np.empty((len(kernels), resamples))
    start = 0
    for weights in chunks:
        stop = start + len(weights)
        for row, kernel in enumerate(kernels):
            out[row, start:stop] = kernel(weights)
        start = stop
    return out


def paired_bootstrap(
    metric: str,
    y_true: npt.ArrayLike,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile bootstrap interval of ``metric(b) − metric(a)``, resampling the rows of both jointly.

    ``a`` is the champion's and ``b`` the candidate's predictions (labels or scores, as the metric needs).
    """
    spec = check_metric(metric)
    _check_confidence(confidence)
    difference = spec.compute(y_true, b) - spec.compute(y_true, a)
    replicates = bootstrap_replicates(metric, y_true, a, b, resamples=resamples, seed=seed)
    low, high, used = _percentile_interval(replicates[1] - replicates[0], confidence, metric)
    return BootstrapResult(difference, low, high, used, confidence, "percentile")


def bootstrap_interval(
    metric: str,
    y_true: npt.ArrayLike,
    predictions: npt.ArrayLike,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricInterval:
    """Percentile bootstrap interval of one model's ``metric``."""
    spec = check_metric(metric)
    _check_confidence(confidence)
    value = spec.compute(y_true, predictions)
    replicates = bootstrap_replicates(metric, y_true, predictions, resamples=resamples, seed=seed)
    low, high, used = _percentile_interval(replicates[0], confidence, metric)
    return MetricInterval(value, low, high, used, confidence, "percentile")


def mcnemar(correct_a: npt.ArrayLike, correct_b: npt.ArrayLike) -> McNemarResult:
    """McNemar's test: do models a and b err on different rows more often one way than the other?

    Only discordant rows carry evidence; under the null hypothesis each is equally likely to favour either
    model. Below :data:`EXACT_BELOW` discordant rows the test is the exact two-sided binomial test (equal to
    ``scipy.stats.binomtest(b01, b01 + b10, 0.5).pvalue``); from there on the chi-square approximation is
    accurate, and is used with Edwards' continuity correction, ``max(|b01 − b10| − 1, 0)² / (b01 + b10)``
    (the ``max`` keeps equal counts at p = 1). With no discordant row the models agree: p = 1.
    """
    a, b = _booleans("correct_a", correct_a), _booleans("correct_b", correct_b)
    if a.shape != b.shape:
        raise InvalidInput(f"correct_a has {len(a)} rows but correct_b has {len(b)}; pass one per row of each.")
    b01, b10 = int((~a & b).sum()), int((a & ~b).sum())
    discordant = b01 + b10
    if discordant < EXACT_BELOW:
        smaller = min(b01, b10)
        # P(X ≤ smaller) for X ~ Binomial(discordant, 1/2), in exact integer arithmetic; doubled for two sides.
        tail = sum(math.comb(discordant, k) for k in range(smaller + 1)) / 2**discordant
        return McNemarResult(b01, b10, float(smaller), min(1.0, 2 * tail), "exact binomial")
    statistic = max(abs(b01 - b10) - 1, 0) ** 2 / discordant
    # The chi-square distribution with one degree of freedom is that of Z²: P(Z² > x) = erfc(√(x/2)).
    p_value = math.erfc(math.sqrt(statistic / 2))
    return McNemarResult(b01, b10, statistic, p_value, "chi-square with continuity correction")


def bonferroni(p_values: npt.ArrayLike) -> list[float]:
    """Bonferroni-adjusted p-values: each times the number of tests, capped at 1."""
    p = _p_values(p_values)
    return [float(x) for x in np.minimum(1.0, p * len(p))]


def holm(p_values: npt.ArrayLike) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: uniformly more powerful than Bonferroni.

    The i-th smallest p-value is multiplied by ``m − i`` (i from 0), and each adjusted value is raised to
    the largest before it so that the adjusted values keep the order of the raw ones.
    """
    p = _p_values(p_values)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, p[order] * (len(p) - np.arange(len(p))))
    adjusted = np.empty_like(p)
    adjusted[order] = np.maximum.accumulate(scaled)
    return [float(x) for x in adjusted]


# --- helpers --------------------------------------------------------------------------------------------------


def _draw_counts(rng: np.random.Generator, chunk: int, n: int) -> FloatArray:
    # A function of its own so that its temporaries are freed before the caller uses the result.
    draws = rng.random((chunk, n))
    draws *= n  # u < 1 rounds to at most the largest double below n, so the floor is at most n − 1
    picks = draws.astype(np.intp)
    del draws
    picks += np.arange(0, chunk * n, n)[:, np.newaxis]  # offset each resample's picks: one bincount for all
    return np.bincount(picks.ravel(), minlength=chunk * n).reshape(chunk, n).astype(np.float64)


def _percentile_interval(values: FloatArray, confidence: float, metric: str) -> tuple[float, float, int]:
    usable = values[~np.isnan(values)]
    if 2 * len(usable) < len(values):
        raise InvalidInput(
            f"{metric} is undefined on {len(values) - len(usable)} of {len(values)} bootstrap resamples (e.g. "
            "resamples without a row of some class): the data has too few rows of a class to bootstrap. "
            "Evaluate on more rows."
        )
    alpha = 1.0 - confidence
    low, high = np.quantile(usable, [alpha / 2, 1.0 - alpha / 2])
    return float(low), float(high), len(usable)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence!r}.")


def _check_count(what: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{what} must be a positive integer; got {value!r}.")


def _seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInput(f"seed must be a non-negative integer; got {seed!r}.")
    return seed


def _booleans(what: str, values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInput(f"{what} must be one-dimensional (one flag per row); got shape {array.shape}.")
    if array.dtype != np.bool_:
        if array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all():
            raise InvalidInput(f"{what} must hold booleans (or 0/1): whether the model got each row right.")
        array = array.astype(np.bool_)
    return array


def _p_values(p_values: npt.ArrayLike) -> FloatArray:
    try:
        p = np.asarray(p_values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"p-values must be numbers; got {p_values!r}.") from None
    if p.ndim != 1:
        raise InvalidInput(f"p-values must be a flat sequence; got shape {p.shape}.")
    if not ((p >= 0) & (p <= 1)).all():  # also false for nan
        raise InvalidInput(f"p-values must lie in [0, 1]; got {p[~((p >= 0) & (p <= 1))].tolist()}.")
    return p
