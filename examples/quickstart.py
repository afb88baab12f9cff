"""Quickstart: version the data, sweep a parameter, track every epoch, register models, and find the best.

Run it with `make demo` (or `python examples/quickstart.py` with `pip install 'shipyard[sklearn,pandas]'`).
Everything lands in ./.shipyard next to where it runs; no server is involved. Then try:

    shipyard runs list --project churn
    shipyard datasets show churn-train --project churn
    shipyard models show churn@challenger --project churn
    shipyard models lineage churn@challenger --project churn
    shipyard gate report churn@champion --project churn --out report.html

The release gate's policy is ./shipyard.toml beside this file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss, roc_auc_score

import shipyard as sy

FEATURES = ["tenure", "calls", "monthly", "pro_plan"]


def make_data(rows: int = 3_000, seed: int = 7) -> pd.DataFrame:
    """A churn-like problem: short tenure, many support calls and a high bill raise the odds of leaving."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.uniform(0, 5, rows).round(2),
            "calls": rng.integers(0, 8, rows),
            "monthly": rng.normal(0, 1, rows).round(3),
            "pro_plan": rng.integers(0, 2, rows),
        }
    )
    odds = -1.0 - 0.9 * frame.tenure + 0.5 * frame.calls + 0.4 * frame.monthly
    frame["churned"] = (rng.random(rows) < 1 / (1 + np.exp(-odds))).astype(int)
    return frame


def train(run: sy.Run, train_df: pd.DataFrame, valid_df: pd.DataFrame, lr: float, epochs: int) -> SGDClassifier:
    """Logistic regression by SGD, one pass per epoch, logging loss and AUC after each."""
    model = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=lr, random_state=0)
    x, y = train_df[FEATURES], train_df["churned"]
    for epoch in range(epochs):
        model.partial_fit(x, y, classes=[0, 1])
        scores = model.predict_proba(valid_df[FEATURES])[:, 1]
        run.log_metrics(
            {"loss": log_loss(y, model.predict_proba(x)[:, 1]), "auc": roc_auc_score(valid_df["churned"], scores)},
            step=epoch,
        )
    return model


def main() -> None:
    data = make_data()
    train_data = sy.datasets.register("churn-train", data.iloc[:2_400], project="churn")
    valid_data = sy.datasets.register("churn-valid", data.iloc[2_400:], project="churn")
    print(f"datasets: {train_data.ref} ({train_data.rows} rows), {valid_data.ref} ({valid_data.rows} rows)")

    with sy.start_run(project="churn", name="sweep") as sweep:
        for lr in (0.0001, 0.001, 0.01):
            with sy.start_run(project="churn", name=f"lr={lr}") as run:  # a child of the sweep
                run.use_dataset(train_data, role="train")
                run.use_dataset(valid_data, role="eval")
                run.log_params({"lr": lr, "epochs": 15, "penalty": "l2"})
                model = train(run, frame_of(train_data), frame_of(valid_data), lr=lr, epochs=15)
                version = run.log_model(model, "churn", train_data=train_data, datasets={"eval": valid_data})
                with tempfile.TemporaryDirectory() as folder:
                    report = Path(folder) / "report.md"
                    report.write_text(f"# lr={lr}\n\nmodel: {version.ref}\n")
                    run.log_artifact(report)
                print(f"run {run.id}  lr={lr:<7} auc={run.info.metrics['auc']:.3f}  → {version.ref}")
        sweep.set_tag("kind", "sweep")

    best = sy.search_runs(
        project="churn",
        filter="metrics.auc > 0.6 and params.penalty = 'l2'",
        order_by=["metrics.auc DESC"],
        max_results=1,
    )
    if not best:
        raise SystemExit("no run reached AUC 0.6; the demo's data or training changed")
    [version] = [v for v in sy.models.versions("churn", project="churn") if v.run_id == best[0].id]
    sy.models.set_alias("churn", version.version, "challenger", project="churn")
    model = sy.models.load("churn@challenger", project="churn")
    sample = frame_of(valid_data).head(3)
    print(
        f"best: {best[0].name} → churn@challenger = {version.ref}; churn odds for 3 customers: "
        f"{np.round(model.predict_proba(sample[FEATURES])[:, 1], 3).tolist()}"
    )
    lineage = sy.lineage("churn@challenger", project="churn")
    code = lineage.code
    commit = f"{code['commit'][:12]}{' (dirty)' if code['dirty'] else ''}" if code else "not in a git checkout"
    print(
        f"lineage: run {lineage.run.name if lineage.run else '?'}, trained on "
        f"{', '.join(d.ref for _, d in lineage.trained_on)}, code {commit}"
    )
    try:
        sy.models.promote("churn@challenger", project="churn")
    except sy.GateBlocked as blocked:
        print(f"champion refused before the gate ran, as it should be: {str(blocked).split(':')[0]}")
    # The gate: the checks of ./shipyard.toml on the challenger, with the held-out data.
    verdict = sy.gate.evaluate("churn@challenger", data=valid_data, project="churn")
    for check in verdict.checks:
        print(f"  {check.status.value.upper():5} {check.name:<24} {check.message}")
    if verdict.passed:
        champion = sy.models.promote("churn@challenger", project="churn")
        print(f"gate passed: {champion.ref} is now champion")
    else:
        print(f"gate failed: {', '.join(c.name for c in verdict.failed)}; see `shipyard gate report churn@challenger`")


def frame_of(version: sy.DatasetVersion) -> pd.DataFrame:
    """A dataset version's table as pandas, read back from the store (digest-verified)."""
    return sy.datasets.load(version).to_pandas()


if __name__ == "__main__":
    main()
