"""Train the churn model, register it with its data, and write its reference (``churn@7``) for the next CI step.

    python train.py            # train and register; prints churn@N and writes it to model-ref.txt
    python train.py --lookup   # train nothing: find the version trained from these exact inputs (the merge job)

A version is tagged with the digest of its training inputs (this file, params.toml, requirements.txt and
data/train.csv). Training again from the same inputs reuses that version instead of registering a copy, and
the job on main finds the version its pull request gated by the same digest: the merge promotes exactly
what the gate passed, or nothing. Both runs of the same inputs must see the same digest, so keep every
input of training in that list.

The store is SHIPYARD_URI (in CI a PostgreSQL URL, with SHIPYARD_ARTIFACTS=s3://…); without it, ./.shipyard.
The project is the one of ./shipyard.toml. See docs/ci.md.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tomllib
from pathlib import Path

import shipyard as sy

HERE = Path(__file__).resolve().parent
MODEL = "churn"
LABEL = "churned"
INPUTS = ("train.py", "params.toml", "requirements.txt", "data/train.csv")
"""Everything the trained model depends on; its digest names the version across the PR and merge jobs."""
REF_FILE = HERE / "model-ref.txt"
TAG = "training_inputs"


def inputs_digest() -> str:
    """sha256 over the training inputs, each file's name and bytes (the same on every checkout of the commit)."""
    digest = hashlib.sha256()
    for name in INPUTS:
        data = (HERE / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return f"sha256:{digest.hexdigest()}"


def trained_from(digest: str) -> sy.ModelVersion | None:
    """The newest active version of the model tagged with these training inputs, if one was registered."""
    try:
        versions = sy.models.versions(MODEL)
    except sy.NotFound:
        return None  # no version of the model yet
    return next((v for v in versions if v.status == "active" and v.tags.get(TAG) == digest), None)


def train(digest: str) -> sy.ModelVersion:
    """Logistic regression on data/train.csv with params.toml; the run records params, CV score and data."""
    from sklearn.linear_model import LogisticRegression  # here, so that --lookup starts quickly
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    params = tomllib.loads((HERE / "params.toml").read_text())
    features = list(params["features"])
    train_data = sy.datasets.register("churn-train", HERE / "data" / "train.csv")
    # The evaluation data is registered beside it; the policy pins the version the gate uses (churn-eval@1),
    # so a pull request that edits data/eval.csv adds a version but cannot change what it is judged on.
    sy.datasets.register("churn-eval", HERE / "data" / "eval.csv")
    frame = sy.datasets.load(train_data).to_pandas()  # the registered bytes, digest-verified
    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(
            C=float(params["C"]), l1_ratio=float(params["l1_ratio"]), solver="saga", max_iter=2000, random_state=0
        ),
    )
    with sy.start_run(name="train") as run:
        run.use_dataset(train_data, role="train")
        run.log_params({"features": ",".join(features), "C": params["C"], "l1_ratio": params["l1_ratio"]})
        scores = cross_val_score(model, frame[features], frame[LABEL], cv=5, scoring="roc_auc")
        run.log_metrics({"cv_roc_auc": float(scores.mean()), "cv_roc_auc_std": float(scores.std())})
        model.fit(frame[features], frame[LABEL])
        return run.log_model(model, MODEL, train_data=train_data, tags={TAG: digest})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookup", action="store_true", help="find the version trained from these inputs; no training")
    args = parser.parse_args(argv)
    digest = inputs_digest()
    version = trained_from(digest)
    if args.lookup and version is None:
        print(
            f"error: no version of {MODEL} was trained from this commit's training inputs ({', '.join(INPUTS)}; "
            f"{digest[:19]}…). The merge job promotes only a version that a pull request trained and gated from the "
            "same inputs. If this commit combines changes gated apart, run `./gate.sh train && ./gate.sh gate` on it "
            "and re-run the job; see docs/ci.md.",
            file=sys.stderr,
        )
        return 2
    if version is not None:
        print(f"{version.ref} was trained from these exact inputs ({digest[:19]}…)", file=sys.stderr)
    else:
        version = train(digest)
        print(f"registered {version.ref}", file=sys.stderr)
    REF_FILE.write_text(version.ref + "\n")
    print(version.ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
