"""Bootstrap intervals cover at their stated rate and equal a slow reference; McNemar equals scipy's tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from scipy import stats as scipy_stats
from scipy.special import ndtr

from shipyard.core.errors import InvalidInput
from shipyard.gates import stats
from shipyard.gates.metrics import compute
from shipyard.gates.stats import (
    bonferroni,
    bootstrap_interval,
    bootstrap_replicates,
    holm,
    mcnemar,
    paired_bootstrap,
    resample_weights,
)


def two_scorers(n: int, seed: int, lift_a: float = 1.0, lift_b: float = 1.4, decimals: int = 6) -> Any:
    """Binary labels and two models' scores sharing noise: AUC = Φ(lift / √2.5) for each (normal scores)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    shared = rng.normal(size=n)
    a = np.round(lift_a * y + shared + 0.5 * rng.normal(size=n), decimals)
    b = np.round(lift_b * y + shared + 0.5 * rng.normal(size=n), decimals)
    return y, a, b


def test_resamples_draw_n_rows_with_replacement() -> None:
    chunk = next(resample_weights(50, 7, seed=3))
    assert chunk.shape == (7, 50)
    assert (chunk.sum(axis=1) == 50).all()
    assert (chunk == np.round(chunk)).all() and (chunk >= 0).all()


def test_resamples_depend_on_the_seed_only_not_the_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = np.vstack(list(resample_weights(1000, 30, seed=5)))
    monkeypatch.setattr(stats, "CHUNK_BYTES", 8 * 1000 * 4)  # four resamples per chunk
    chunks = list(resample_weights(1000, 30, seed=5))
    assert [len(c) for c in chunks] == [4] * 7 + [2]
    np.testing.assert_array_equal(np.vstack(chunks), whole)
    assert not np.array_equal(np.vstack(list(resample_weights(1000, 30, seed=6))), whole)


@pytest.mark.parametrize("decimals", [6, 1])  # distinct scores, and heavy ties
def test_vectorised_auc_bootstrap_equals_sklearn_on_the_same_resamples(decimals: int) -> None:
    y, a, b = two_scorers(300, seed=1, decimals=decimals)
    replicates = bootstrap_replicates("roc_auc", y, a, b, resamples=5, seed=9)
    weights = next(resample_weights(300, 5, seed=9))
    for model, scores in enumerate([a, b]):
        slow = [skm.roc_auc_score(y, scores, sample_weight=w) for w in weights]
        np.testing.assert_allclose(replicates[model], slow, rtol=1e-12)


@pytest.mark.parametrize(("metric", "reference"), [("f1", skm.f1_score), ("accuracy", skm.accuracy_score)])
def test_label_metric_bootstrap_equals_sklearn_on_the_same_resamples(metric: str, reference: Any) -> None:
    y, a, _ = two_scorers(200, seed=2)
    labels = (a > 0.5).astype(int)
    replicates = bootstrap_replicates(metric, y, labels, resamples=4, seed=1)[0]
    slow = [reference(y, labels, sample_weight=w) for w in next(resample_weights(200, 4, seed=1))]
    np.testing.assert_allclose(replicates, slow, rtol=1e-12)


def test_paired_bootstrap_brackets_the_difference_reproducibly() -> None:
    y, a, b = two_scorers(400, seed=3)
    result = paired_bootstrap("roc_auc", y, a, b, resamples=500, seed=4)
    assert result.difference == pytest.approx(compute("roc_auc", y, scores=b) - compute("roc_auc", y, scores=a))
    assert result.low < result.difference < result.high
    assert (result.resamples, result.confidence, result.method) == (500, 0.95, "percentile")
    assert paired_bootstrap("roc_auc", y, a, b, resamples=500, seed=4) == result
    assert paired_bootstrap("roc_auc", y, a, b, resamples=500, seed=5) != result


def test_identical_models_differ_by_exactly_zero() -> None:
    y, a, _ = two_scorers(100, seed=0)
    result = paired_bootstrap("log_loss", y, 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-a)), resamples=200)
    assert (result.difference, result.low, result.high) == (0.0, 0.0, 0.0)


def coverage(interval: Any, truth: float, datasets: int = 200) -> float:
    return float(np.mean([(r := interval(seed)).low <= truth <= r.high for seed in range(datasets)]))


def test_auc_difference_interval_covers_the_true_difference_at_about_95_percent() -> None:
    true_difference = ndtr(1.4 / np.sqrt(2.5)) - ndtr(1.0 / np.sqrt(2.5))
    rate = coverage(lambda seed: paired_bootstrap("roc_auc", *two_scorers(300, seed), resamples=400), true_difference)
    assert 0.90 <= rate <= 0.99


def test_accuracy_difference_interval_covers_the_true_difference_at_about_95_percent() -> None:
    def simulate(seed: int) -> Any:
        rng = np.random.default_rng(seed)
        y, u = rng.integers(0, 2, 300), rng.random(300)
        v = np.where(rng.random(300) < 0.5, u, rng.random(300))  # correlated errors, exact marginals
        a, b = np.where(u < 0.80, y, 1 - y), np.where(v < 0.85, y, 1 - y)
        return paired_bootstrap("accuracy", y, a, b, resamples=400, seed=seed)

    assert 0.90 <= coverage(simulate, 0.05) <= 0.99


def test_single_model_interval_brackets_its_value() -> None:
    y, a, _ = two_scorers(300, seed=6)
    result = bootstrap_interval("roc_auc", y, a, resamples=300, confidence=0.9)
    assert result.value == compute("roc_auc", y, scores=a)
    assert result.low < result.value < result.high
    assert result.confidence == 0.9


def test_resamples_where_the_metric_is_undefined_are_left_out() -> None:
    y = np.r_[0, np.ones(19, dtype=int)]  # a resample misses the only negative about a third of the time
    scores = np.linspace(0, 1, 20)
    result = bootstrap_interval("roc_auc", y, scores, resamples=300)
    assert 150 < result.resamples < 300


def test_too_small_data_to_bootstrap_is_rejected() -> None:
    y = np.r_[0, 1, np.full(18, 2)]  # most resamples miss class 0 or class 1
    probabilities = np.random.default_rng(0).dirichlet(np.ones(3), 20)
    with pytest.raises(InvalidInput, match="too few rows of a class"):
        bootstrap_interval("roc_auc", y, probabilities, resamples=200)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"confidence": 1.0}, "confidence must be between 0 and 1"), ({"resamples": 0}, "resamples must be a positive")],
)
def test_bad_bootstrap_parameters_are_rejected(kwargs: Any, message: str) -> None:
    y, a, b = two_scorers(50, seed=0)
    with pytest.raises(InvalidInput, match=message):
        paired_bootstrap("roc_auc", y, a, b, **kwargs)


def mcnemar_counts(b01: int, b10: int, agree: int = 5) -> tuple[Any, Any]:
    """Flags for rows only b gets right (b01), only a gets right (b10), and rows both get right."""
    a = np.r_[np.zeros(b01, bool), np.ones(b10, bool), np.ones(agree, bool)]
    b = np.r_[np.ones(b01, bool), np.zeros(b10, bool), np.ones(agree, bool)]
    return a, b


def test_mcnemar_below_25_discordant_pairs_is_scipys_exact_binomial_test() -> None:
    for b01 in range(25):
        for b10 in range(1 if b01 == 0 else 0, 25 - b01):
            result = mcnemar(*mcnemar_counts(b01, b10))
            assert (result.b01, result.b10, result.method) == (b01, b10, "exact binomial")
            assert result.p_value == pytest.approx(scipy_stats.binomtest(b01, b01 + b10, 0.5).pvalue, rel=1e-12)


@pytest.mark.parametrize(("b01", "b10"), [(20, 5), (13, 12), (40, 60), (300, 250)])
def test_mcnemar_from_25_discordant_pairs_is_continuity_corrected_chi_square(b01: int, b10: int) -> None:
    result = mcnemar(*mcnemar_counts(b01, b10))
    statistic = max(abs(b01 - b10) - 1, 0) ** 2 / (b01 + b10)
    assert result.statistic == pytest.approx(statistic)
    assert result.p_value == pytest.approx(scipy_stats.chi2.sf(statistic, df=1), rel=1e-12)
    assert result.method == "chi-square with continuity correction"


def test_mcnemar_without_discordant_rows_finds_no_difference() -> None:
    assert mcnemar([True, False], [True, False]).p_value == 1.0


def test_mcnemar_rejects_mismatched_or_non_boolean_flags() -> None:
    with pytest.raises(InvalidInput, match="3 rows but correct_b has 2"):
        mcnemar([1, 0, 1], [1, 0])
    with pytest.raises(InvalidInput, match="booleans"):
        mcnemar([0.5, 1], [1, 0])


def test_holm_and_bonferroni_on_a_known_vector() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    assert bonferroni(p) == pytest.approx([0.04, 0.16, 0.12, 0.02])
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])  # 0.04 x 1 is raised to the 0.03 x 2 before it
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == bonferroni([]) == []


def test_p_values_outside_0_1_are_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"must lie in \[0, 1\]; got \[1.5, nan\]"):
        holm([0.1, 1.5, float("nan")])
