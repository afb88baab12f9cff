"""``sy.models.load`` + first ``predict`` beside the floor, ``skops.io.load`` + ``predict``, in one run.

    .venv/bin/python bench/models.py [--repeat N]

For each scikit-learn model below, one measurement is a cold start as a serving replica sees it: read the
model and predict on 1,000 rows given as a pandas DataFrame. Shipyard's side is the registry's
``client.models.load("name@1")`` (resolve the version, read and verify the manifest, copy each file out of
the artifact store verifying its sha256, load it) + ``LoadedModel.predict(frame)`` (which also converts the
frame to Arrow, validates it against the signature and converts it back). The floor is what a hand-written
server would do with the same model file: ``skops.io.load(path, trusted=<the recorded types>)`` +
``model.predict(frame)``. Files are in the OS page cache; the sides alternate so drift hits both alike.
Prints medians, the ratio and the target (<= 1.5x the floor); writes ``bench/results/models-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import _harness as h

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
TARGET = 1.5
N_TRAIN = 5_000
N_PREDICT = 1_000
N_NUMERIC = 22  # + 3 string columns = 25 features
CITIES = ["oslo", "lima", "pune", "kyiv", "lagos", "quito", "perth", "turin"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_frame(rows: int, seed: int) -> Any:
    """A mixed table: 22 float columns, 3 string columns, and a label depending on a few of them."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i:02d}": rng.normal(size=rows) for i in range(N_NUMERIC)})
    for j in range(3):
        frame[f"c{j}"] = rng.choice(CITIES, size=rows)
    score = frame.x00 - 0.5 * frame.x01 + 0.3 * frame.x02 * frame.x03 + (frame.c0 == "oslo")
    return frame, (score + rng.normal(scale=0.5, size=rows) > 0.3).astype("int64")


def encode_strings(frame: Any) -> Any:
    """The frame with its string columns as integer codes: the forest's input, all 25 features numeric."""
    return frame.assign(**{c: frame[c].map(CITIES.index) for c in frame.columns if c.startswith("c")})


def build_models(train: Any, label: Any) -> dict[str, tuple[str, Any, Callable[[Any], Any]]]:
    """name → (description, fitted model, how to turn a raw frame into that model's input)."""
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in train.columns if c.startswith("x")]
    strings = [c for c in train.columns if c.startswith("c")]
    forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(encode_strings(train), label)
    linear = make_pipeline(
        make_column_transformer((StandardScaler(), numeric), (OneHotEncoder(handle_unknown="ignore"), strings)),
        LogisticRegression(max_iter=500),
    ).fit(train, label)
    return {
        "random_forest": ("RandomForestClassifier, 100 trees, 25 numeric features", forest, encode_strings),
        "logistic_pipeline": ("ColumnTransformer(scaler + one-hot) + LogisticRegression", linear, lambda f: f),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure(load_ours: Callable[[], Any], path: Path, trusted: list[str], frame: Any, repeat: int) -> dict[str, Any]:
    import skops.io as sio

    def ours() -> tuple[float, float, Any]:
        load_s, model = timed(load_ours)
        predict_s, out = timed(lambda: model.predict(frame))
        return load_s, predict_s, out

    def floor() -> tuple[float, float, Any]:
        load_s, model = timed(lambda: sio.load(path, trusted=trusted))
        predict_s, out = timed(lambda: model.predict(frame))
        return load_s, predict_s, out

    ours(), floor()  # warm-up: imports and first-call costs land on neither side's figures
    samples: dict[str, list[tuple[float, float]]] = {"shipyard": [], "floor": []}
    for i in range(repeat):
        for side, fn in (
            (("shipyard", ours), ("floor", floor)) if i % 2 == 0 else (("floor", floor), ("shipyard", ours))
        ):
            gc.collect()
            load_s, predict_s, out = fn()
            samples[side].append((load_s, predict_s))
            if side == "shipyard":
                ours_out = out
            else:
                floor_out = out
        np.testing.assert_array_equal(ours_out, floor_out)  # both sides must give the same answer
    summary: dict[str, Any] = {}
    for side, pairs in samples.items():
        summary[side] = {
            "total": statistics.median(a + b for a, b in pairs),
            "load": statistics.median(a for a, _ in pairs),
            "predict": statistics.median(b for _, b in pairs),
            "samples": pairs,
        }
    summary["ratio"] = summary["shipyard"]["total"] / summary["floor"]["total"]
    summary["file_bytes"] = path.stat().st_size
    return summary


def headlines(results: dict[str, Any]) -> list[dict[str, Any]]:
    from _headlines import headline

    return [
        headline(
            f"load + first predict: {name}",
            ours=r["shipyard"]["total"] * 1000,
            unit="ms",
            floor=r["floor"]["total"] * 1000,
            floor_name="skops.io.load + predict",
            same_work=f"read the model file and predict {N_PREDICT:,} rows given as a DataFrame",
            differs="Shipyard also resolves the version, verifies every file's sha256 and validates the rows "
            "against the signature",
            target=f"<= {TARGET}x the floor's time",
            met=r["ratio"] <= TARGET,
        )
        for name, r in results.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9, help="measurements per side and model (median shown)")
    parser.add_argument("--quick", action="store_true", help="3 measurements per side and model")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 3

    import shipyard as sy
    from shipyard.packaging import save_model

    train, label = make_frame(N_TRAIN, seed=1)
    request, _ = make_frame(N_PREDICT, seed=2)
    log(f"training on {N_TRAIN:,} rows ...")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-models-") as tmp:
        client = sy.Client(str(Path(tmp) / ".shipyard"))
        for name, (description, model, prepare) in build_models(train, label).items():
            frame = prepare(request)
            # The floor reads the very file the registry stored: the same bytes, loaded by skops directly.
            folder = Path(tmp) / name
            info = save_model(model, folder, input_example=frame.head(20))
            with client.start_run(project="bench") as run:
                run.log_model(model, name, input_example=frame.head(20))
            log(f"{name}: measuring {args.repeat} x 2 cold loads + predict on {N_PREDICT:,} rows ...")

            def load_ours(ref: str = f"{name}@1") -> Any:
                return client.models.load(ref, project="bench")

            path = folder / info.flavor_meta["file"]
            measured = measure(load_ours, path, info.flavor_meta["trusted_types"], frame, args.repeat)
            results[name] = {"description": description, **measured}
        client.close()

    header = (
        f"{'model':<18} | {'file':>8} | {'shipyard load+predict':>28} | {'floor load+predict':>28} | ratio | target"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        ours, floor = r["shipyard"], r["floor"]
        cells = [
            f"{h.format_seconds(s['total'])} ({h.format_seconds(s['load'])}+{h.format_seconds(s['predict'])})"
            for s in (ours, floor)
        ]
        verdict = "met" if r["ratio"] <= TARGET else "MISSED"
        size = f"{r['file_bytes'] / 1e6:.1f} MB"
        print(f"{name:<18} | {size:>8} | {cells[0]:>28} | {cells[1]:>28} | {r['ratio']:.2f}x | <={TARGET}x: {verdict}")
    print(f"\nmedians of {args.repeat} runs per side; predict on {N_PREDICT:,} rows given as a pandas DataFrame")

    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"models-{stamp}.json"
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    report = {
        "repeat": args.repeat,
        "quick": args.quick,
        "target": TARGET,
        "machine": machine,
        "results": results,
        "headlines": headlines(results),
    }
    out.write_text(json.dumps(report, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
