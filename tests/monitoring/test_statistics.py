"""Drift per column: no drift on the same distribution, drift on a shift, agreement with scipy, clear errors."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial import distance

from shipyard.core.errors import InvalidInput
from shipyard.monitoring._drift_measures import EMPTY_SHARE
from shipyard.monitoring.reference import GRID, CategoricalReference, NumericReference, Reference
from shipyard.monitoring.statistics import (
    CATEGORICAL_METHODS,
    NUMERIC_METHODS,
    compute_drift,
    default_method,
)

PLANS = ["basic", "pro", "team", "enterprise"]


def sample(rows: int, seed: int, *, shift: float = 0.0, mix: tuple[float, ...] = (0.5, 0.3, 0.15, 0.05)) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "spend": rng.lognormal(3 + shift, 0.5, rows),
            "calls": rng.poisson(4 + 4 * shift, rows),
            "plan": rng.choice(PLANS, rows, p=list(mix)),
        }
    )


REFERENCE = Reference.build(sample(5_000, seed=0))


@pytest.mark.parametrize(
    ("column", "method"),
    [(c, m) for c in ("spend", "calls") for m in NUMERIC_METHODS] + [("plan", m) for m in CATEGORICAL_METHODS],
)
def test_the_same_distribution_does_not_drift_and_a_shifted_one_does(column: str, method: str) -> None:
    same = compute_drift(REFERENCE, sample(5_000, seed=1), columns=[column], methods={column: method})
    moved = compute_drift(
        REFERENCE,
        sample(5_000, seed=1, shift=0.3, mix=(0.3, 0.3, 0.3, 0.1)),
        columns=[column],
        methods={column: method},
    )
    assert (same.status, same.columns[column].method) == ("no_drift", method)
    assert (moved.status, moved.drifted) == ("drift", [column])


def test_default_methods_are_tests_on_small_samples_and_distances_on_large_ones() -> None:
    spend, plan = REFERENCE.columns["spend"], REFERENCE.columns["plan"]
    assert default_method(spend, 1_000) == ("ks", 0.05)
    assert default_method(spend, 1_001) == ("wasserstein", 0.1)
    assert default_method(plan, 800) == ("chi2", 0.05)
    assert default_method(plan, 4_000) == ("jensen_shannon", 0.1)
    many = CategoricalReference("city", "string", 5_000, 0, [f"c{i}" for i in range(500)], np.full(500, 10), 0)
    assert default_method(many, 4_000)[0] == "chi2"  # 500 values: JS noise would be near its threshold


def test_ks_is_scipys_statistic_within_one_grid_bin_and_its_p_value_follows() -> None:
    a, b = sample(5_000, seed=0)["spend"].to_numpy(), sample(3_000, seed=2, shift=0.02)["spend"].to_numpy()
    ours = compute_drift(REFERENCE, pa.table({"spend": b}), columns=["spend"], methods={"*": "ks"}).columns["spend"]
    exact = stats.ks_2samp(a, b, method="asymp")
    bound = 1 / GRID + 2 / len(a)
    assert ours.value is not None and ours.p_value is not None
    assert exact.statistic - bound <= ours.value <= exact.statistic
    en = round(len(a) * len(b) / (len(a) + len(b)))
    assert stats.kstwo.sf(ours.value + bound, en) <= exact.pvalue <= ours.p_value


def test_ks_and_wasserstein_are_exact_on_integers_whose_values_each_fill_a_bin() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 8, 5_000), rng.choice(9, 2_000, p=[0.2] + [0.1] * 8)
    reference, window = Reference.build(pa.table({"n": a})), pa.table({"n": b})
    ks = compute_drift(reference, window, methods={"*": "ks"}).columns["n"]
    w1 = compute_drift(reference, window, methods={"*": "wasserstein"}).columns["n"]
    assert ks.value == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert w1.value == pytest.approx(stats.wasserstein_distance(a, b) / a.std(), rel=1e-9)


def test_a_window_counts_the_same_in_chunks_and_with_missing_values_among_them() -> None:
    spend = sample(3_000, seed=8, shift=0.1)["spend"].to_numpy()
    messy = pa.chunked_array([spend[:1_000], [None, math.nan, math.inf, -math.inf], spend[1_000:]], pa.float64())
    for method in ("ks", "wasserstein"):
        clean = compute_drift(REFERENCE, pa.table({"spend": spend}), columns=["spend"], methods={"*": method})
        mixed = compute_drift(REFERENCE, pa.table({"spend": messy}), columns=["spend"], methods={"*": method})
        assert mixed.columns["spend"].value == pytest.approx(clean.columns["spend"].value, rel=1e-12)
        assert (mixed.columns["spend"].rows, mixed.columns["spend"].missing_share) == (3_000, 4 / 3_004)


def test_wasserstein_is_scipys_normalised_distance_within_the_documented_error() -> None:
    a = sample(5_000, seed=0)["spend"].to_numpy()
    for seed, shift in [(4, 0.0), (5, 0.1), (6, -0.2), (7, 1.0)]:  # the last lies mostly beyond the maximum
        b = sample(3_000, seed=seed, shift=shift)["spend"].to_numpy()
        ours = compute_drift(REFERENCE, pa.table({"spend": b}), columns=["spend"], methods={"*": "wasserstein"})
        assert ours.columns["spend"].value == pytest.approx(stats.wasserstein_distance(a, b) / a.std(), abs=0.004)


def test_categorical_distances_match_a_hand_computation() -> None:
    reference = Reference.build(pa.table({"c": ["a"] * 50 + ["b"] * 50}))
    window = pa.table({"c": ["a"] * 75 + ["b"] * 25})
    p, q = np.array([0.5, 0.5]), np.array([0.75, 0.25])

    def value(method: str) -> float | None:
        return compute_drift(reference, window, methods={"c": method}).columns["c"].value

    assert value("psi") == pytest.approx(0.25 * math.log(1.5) + 0.25 * math.log(2))
    assert value("jensen_shannon") == pytest.approx(distance.jensenshannon(p, q))  # natural log
    assert value("linf") == pytest.approx(0.25)
    assert value("chi2") == pytest.approx(stats.chi2_contingency([[50, 50], [75, 25]], correction=False)[0])


def test_numeric_psi_and_js_use_twenty_bins_of_equal_reference_mass_plus_the_outer_two() -> None:
    reference = Reference.build(pa.table({"x": np.arange(2_000, dtype=np.float64)}))
    x = np.concatenate([np.arange(0, 1_000, 0.5), [-3.0, 5_000.0]])  # dense in the lower half, two outside
    drift = compute_drift(reference, pa.table({"x": x}), methods={"x": "psi"}).columns["x"]
    histogram = drift.histogram
    assert len(histogram["labels"]) == 22 and histogram["labels"][0] == "< 0" and histogram["labels"][-1] == "> 1999"
    p = np.array(histogram["reference"])
    np.testing.assert_allclose(p, [0] + [0.05] * 20 + [0])
    inside = np.histogram(x, bins=histogram["edges"])[0]
    q = np.concatenate([[1], inside, [1]]) / len(x)
    np.testing.assert_allclose(histogram["current"], q)
    p_, q_ = np.where(p > 0, p, EMPTY_SHARE), np.where(q > 0, q, EMPTY_SHARE)
    assert drift.value == pytest.approx(np.sum((q_ - p_) * np.log(q_ / p_)))
    js = compute_drift(reference, pa.table({"x": x}), methods={"x": "jensen_shannon"}).columns["x"]
    assert js.value == pytest.approx(distance.jensenshannon(p, q))


def test_missing_and_out_of_domain_shares() -> None:
    window = pa.table(
        {
            "spend": [None, np.nan, 1e9, -5.0] + [20.0] * 196,
            "calls": pa.array([None] * 200, pa.int64()),
            "plan": ["gold", "gold", None] + ["basic"] * 197,
        }
    )
    report = compute_drift(REFERENCE, window)
    spend, plan = report.columns["spend"], report.columns["plan"]
    assert (spend.rows, spend.missing_share, spend.out_of_domain_share) == (198, 0.01, 2 / 198)
    assert (plan.missing_share, plan.out_of_domain_share, plan.reference_missing_share) == (0.005, 2 / 199, 0.0)
    assert report.columns["calls"].status == "insufficient_data"


def test_a_small_window_is_insufficient_data_for_every_column_never_drift() -> None:
    report = compute_drift(REFERENCE, sample(99, seed=1, shift=5.0), min_rows=100)
    assert report.status == "insufficient_data" and report.drifted == []
    assert {c.status for c in report.columns.values()} == {"insufficient_data"}
    assert all(c.value is None and c.p_value is None for c in report.columns.values())
    assert report.columns["plan"].histogram["labels"][-1] == "(other)"


def test_a_column_with_too_few_values_is_insufficient_while_the_others_are_judged() -> None:
    window = sample(500, seed=1, shift=0.5, mix=(0.1, 0.1, 0.4, 0.4))
    window = window.set_column(0, "spend", pa.array([1.0] * 50 + [None] * 450))
    report = compute_drift(REFERENCE, window, min_rows=100)
    assert report.columns["spend"].status == "insufficient_data"
    assert report.status == "drift" and report.drifted == ["calls", "plan"] and report.share_drifted == 1.0


def test_each_bad_argument_is_named_in_one_message() -> None:
    window = sample(200, seed=1).set_column(2, "plan", pa.array(np.arange(200)))
    with pytest.raises(InvalidInput) as caught:
        compute_drift(
            REFERENCE,
            window.drop_columns(["calls"]),
            columns=["spend", "calls", "plan", "tenure"],
            methods={"spend": "wassersteen", "nope": "ks"},
            thresholds={"*": -1},
            min_rows=0,
        )
    message = str(caught.value)
    assert "min_rows must be a positive whole number" in message
    assert "columns 'tenure' are not in the reference" in message
    assert "the window lacks the columns 'calls'" in message
    assert "'plan' is int64 (integer), but the reference holds a categorical column of type string" in message
    assert "unknown method 'wassersteen'" in message and "did you mean 'wasserstein'?" in message
    assert "methods names 'nope', which are not compared" in message
    assert "thresholds['*'] must be a finite number above 0; got -1" in message


@pytest.mark.parametrize(
    ("methods", "thresholds", "expected"),
    [
        ({"plan": "ks"}, None, "'ks' does not apply to the categorical column 'plan'"),
        ({"*": "chi2"}, None, "'chi2' does not apply to the numeric column 'spend'"),
        (
            {"spend": "ks"},
            {"spend": 1.5},
            "significance level of ks for column 'spend', so it must lie between 0 and 1",
        ),
        (None, {"plan": math.inf}, "thresholds['plan'] must be a finite number above 0; got inf"),
        (None, {"plan": "0.1"}, "thresholds['plan'] must be a finite number above 0; got '0.1'"),
    ],
)
def test_methods_and_thresholds_must_fit_the_column(
    methods: dict[str, str] | None, thresholds: dict[str, object] | None, expected: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(expected)):
        compute_drift(REFERENCE, sample(200, seed=1), methods=methods, thresholds=thresholds)  # type: ignore[arg-type]


def test_the_window_must_be_an_arrow_table() -> None:
    with pytest.raises(InvalidInput, match="needs the window as a pyarrow Table; got dict"):
        compute_drift(REFERENCE, {"spend": [1.0]})  # type: ignore[arg-type]


def test_a_given_threshold_decides_and_extra_window_columns_are_ignored() -> None:
    window = sample(5_000, seed=1, shift=0.05).append_column("extra", pa.array(["x"] * 5_000))
    strict = compute_drift(REFERENCE, window, columns=["spend"], methods={"*": "wasserstein"}, thresholds={"*": 0.01})
    loose = compute_drift(REFERENCE, window, columns=["spend"], methods={"*": "wasserstein"}, thresholds={"*": 0.5})
    assert (strict.status, loose.status) == ("drift", "no_drift")
    assert strict.columns["spend"].value == loose.columns["spend"].value


def test_dates_compare_as_numbers_and_histograms_label_them_as_dates() -> None:
    days = pa.array(np.arange(19_000, 19_500).astype("datetime64[D]"))
    reference = Reference.build(pa.table({"day": days}))
    report = compute_drift(reference, pa.table({"day": days.slice(250)}), methods={"*": "ks"})
    assert report.drifted == ["day"] and report.columns["day"].value == pytest.approx(0.5, abs=0.002)
    assert report.columns["day"].histogram["labels"][0] == "< 2022-01-08"


def test_a_report_converts_to_json() -> None:
    report = compute_drift(REFERENCE, sample(50, seed=1))
    summary = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert summary["status"] == "insufficient_data" and summary["columns"]["spend"]["value"] is None
    assert set(summary["columns"]["plan"]["histogram"]) == {"labels", "reference", "current"}


def test_a_hand_made_reference_takes_its_grid_as_evenly_spaced_quantiles() -> None:
    made = NumericReference("x", "float", 1_000, 0, 0.5, 0.29, 0.0, 1.0, grid=np.linspace(0, 1, 11))
    report = compute_drift(Reference(rows=1_000, columns={"x": made}), pa.table({"x": np.linspace(0, 1, 500)}))
    assert report.columns["x"].status == "no_drift"


def test_chi2_on_a_boolean_column_is_the_pooled_two_proportion_z_test() -> None:
    reference = Reference.build(pa.table({"on": [True] * 300 + [False] * 700}))
    drift = compute_drift(reference, pa.table({"on": [True] * 360 + [False] * 640}), methods={"*": "chi2"})
    pooled = 660 / 2_000
    z = (0.36 - 0.30) / math.sqrt(pooled * (1 - pooled) * (1 / 1_000 + 1 / 1_000))
    assert drift.columns["on"].p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
