"""Quickstart: train a small logistic regression, track it, sweep a parameter, and search the runs.

Run it with `make demo` (or `python examples/quickstart.py`). Everything lands in ./.shipyard next to
where it runs; no server is involved. Then try:

    shipyard runs list --project churn
    shipyard runs show RUN_ID
    shipyard runs compare RUN_A RUN_B
"""

from __future__ import annotations

import math
import random
import tempfile
from pathlib import Path

import shipyard as sy


def make_data(rows: int = 600, seed: int = 7) -> list[tuple[list[float], int]]:
    """A churn-like problem: short tenure and many support calls raise the odds of leaving."""
    rng = random.Random(seed)
    data = []
    for _ in range(rows):
        tenure, calls, spend = rng.uniform(0, 5), rng.uniform(0, 4), rng.gauss(0, 1)
        odds = -1.0 - 0.9 * tenure + 1.1 * calls + 0.2 * spend
        data.append(([tenure, calls, spend], int(rng.random() < 1 / (1 + math.exp(-odds)))))
    return data


def auc(scores: list[float], labels: list[int]) -> float:
    """Area under the ROC curve: the chance a random positive outranks a random negative."""
    ranked = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    rank_sum = sum(rank for rank, (_, label) in enumerate(ranked, start=1) if label)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def train(run: sy.Run, data: list[tuple[list[float], int]], lr: float, epochs: int, l2: float) -> float:
    train_rows, valid_rows = data[:450], data[450:]
    weights, bias = [0.0, 0.0, 0.0], 0.0
    for epoch in range(epochs):
        loss = 0.0
        for features, label in train_rows:
            z = bias + sum(w * x for w, x in zip(weights, features, strict=True))
            p = 1 / (1 + math.exp(-z))
            loss -= label * math.log(p + 1e-12) + (1 - label) * math.log(1 - p + 1e-12)
            weights = [w - lr * ((p - label) * x + l2 * w) for w, x in zip(weights, features, strict=True)]
            bias -= lr * (p - label)
        scores = [bias + sum(w * x for w, x in zip(weights, f, strict=True)) for f, _ in valid_rows]
        valid_auc = auc(scores, [label for _, label in valid_rows])
        run.log_metrics({"loss": loss / len(train_rows), "auc": valid_auc}, step=epoch)
    return valid_auc


def main() -> None:
    data = make_data()
    with sy.start_run(project="churn", name="sweep") as sweep:
        for lr in (0.001, 0.01, 0.05):
            with sy.start_run(project="churn", name=f"lr={lr}") as run:  # a child of the sweep
                run.log_params({"lr": lr, "epochs": 20, "penalty": "l2", "l2": 0.001})
                final_auc = train(run, data, lr=lr, epochs=20, l2=0.001)
                with tempfile.TemporaryDirectory() as folder:
                    report = Path(folder) / "report.md"
                    report.write_text(f"# lr={lr}\n\nvalidation AUC: {final_auc:.3f}\n")
                    run.log_artifact(report)
                print(f"run {run.id}  lr={lr:<6} auc={final_auc:.3f}")
        sweep.set_tag("kind", "sweep")

    best = sy.search_runs(
        project="churn",
        filter="metrics.auc > 0.7 and params.penalty = 'l2'",
        order_by=["metrics.auc DESC"],
        max_results=1,
    )
    if not best:
        raise SystemExit("no run reached AUC 0.7; the demo's data or training changed")
    history = sy.get_metric_history(best[0].id, "loss")
    print(
        f"best run {best[0].id} ({best[0].name}): auc={best[0].metrics['auc']:.3f}, "
        f"loss {history[0].value:.3f} → {history[-1].value:.3f} over {len(history)} epochs"
    )
    print(f"parent sweep run: {sweep.id}; see `shipyard runs list --project churn`")


if __name__ == "__main__":
    main()
