"""How the model behaves in service: ``latency``, ``memory``, ``invariance`` and ``determinism_process``.

``memory`` and ``determinism_process`` need a process that has loaded nothing but this one model, so they run
this module as a script (``python -m shipyard.gates.checks.operations``): it loads the version from the
registry, as a server would, predicts on rows the gate wrote to a parquet file, and reports its peak memory.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import InvalidInput
from shipyard.gates.check import Check, CheckFailedToRun, Outcome, Param

if TYPE_CHECKING:
    import pyarrow as pa
    from numpy.typing import NDArray

    from shipyard.gates.context import GateContext
    from shipyard.packaging.package import LoadedModel

MEMORY_ROWS = 1000
EXAMPLE_ROWS = 10  # rows shown as evidence when predictions differ
HISTOGRAM_BINS = 20
# Generous on purpose: this bounds a hung process, not how fast loading must be (that is loads_clean's job).
PROCESS_TIMEOUT_SECONDS = 600.0


class Latency(Check):
    """Timed in this process, after one warm-up call, so the numbers are the model's, not interpreter start-up."""

    kind = "latency"
    doc = "single-row predictions (one row dict per call, as requests arrive) and one batch stay within budget"
    params = (
        Param("p50_ms", float, required=False, default=50.0, minimum=0.001, doc="median single-row budget"),
        Param("p99_ms", float, required=False, default=200.0, minimum=0.001, doc="99th-percentile budget"),
        Param("batch_rows", int, required=False, default=1000, minimum=1, doc="rows in the batch call"),
        Param("batch_ms", float, required=False, default=1000.0, minimum=0.001, doc="budget of the batch call"),
        Param("requests", int, required=False, default=200, minimum=20, doc="single-row calls timed"),
    )

    def run(self, ctx: GateContext) -> Outcome:
        import time

        import numpy as np

        features = ctx.features
        if features.num_rows == 0:
            raise CheckFailedToRun(f"{ctx.dataset.ref} has no rows to time predictions on")
        rows = features.slice(0, self["requests"]).to_pylist()
        # Built before timing, so the clock sees only what a server does with a request it has parsed.
        requests = [[rows[i % len(rows)]] for i in range(self["requests"])]
        batch = _repeat_rows(features, self["batch_rows"])
        model = ctx.model
        _predict(model, requests[0], ctx)  # warm-up: first-call costs (lazy imports, caches) are not latency
        single = []
        for request in requests:
            started = time.perf_counter()
            model.predict(request)
            single.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        model.predict(batch)
        batch_ms = (time.perf_counter() - started) * 1000

        p50, p99 = (float(v) for v in np.percentile(single, [50, 99]))
        budgets = [
            ("single-row p50", p50, self["p50_ms"]),
            ("single-row p99", p99, self["p99_ms"]),
            (f"{self['batch_rows']:,}-row batch", batch_ms, self["batch_ms"]),
        ]
        over = [f"{name} {ms:.3g} ms > {budget:g} ms" for name, ms, budget in budgets if ms > budget]
        summary = ", ".join(f"{name} {ms:.3g} ms" for name, ms, _ in budgets)
        counts, edges = np.histogram(single, bins=HISTOGRAM_BINS)
        return Outcome(
            not over,
            f"over budget: {'; '.join(over)} ({summary})" if over else f"{summary}: all within budget",
            measured={
                "p50_ms": p50,
                "p99_ms": p99,
                "max_ms": max(single),
                "batch_ms": batch_ms,
                "requests": len(single),
                "batch_rows": batch.num_rows,
            },
            threshold={"p50_ms": self["p50_ms"], "p99_ms": self["p99_ms"], "batch_ms": self["batch_ms"]},
            evidence={
                "histogram": {
                    "edges": [float(e) for e in edges],
                    "counts": [int(c) for c in counts],
                    "title": f"Single-row predict latency over {len(single)} calls (ms)",
                },
                "table": [
                    {"measure": name, "ms": round(ms, 4), "budget_ms": budget, "within budget": ms <= budget}
                    for name, ms, budget in budgets
                ],
            },
        )


class Memory(Check):
    """Peak RSS of a process that holds only this model: what one server replica needs, libraries included."""

    kind = "memory"
    doc = "a fresh process that loads the version and predicts on up to 1,000 eval rows peaks within max_mb"
    params = (Param("max_mb", float, required=False, default=2048.0, minimum=1.0, doc="peak resident memory, MB"),)

    def run(self, ctx: GateContext) -> Outcome:
        rows = ctx.features.slice(0, MEMORY_ROWS)
        peak_mb = run_fresh_process(ctx, rows).peak_rss_bytes / 2**20
        return Outcome(
            peak_mb <= self["max_mb"],
            f"peak memory {peak_mb:,.0f} MB loading {ctx.version.ref} and predicting {rows.num_rows:,} rows in a "
            f"fresh process ({'within' if peak_mb <= self['max_mb'] else 'over'} the {self['max_mb']:,.0f} MB limit)",
            measured={"peak_rss_mb": peak_mb, "rows": rows.num_rows},
            threshold={"max_mb": self["max_mb"]},
        )


class Invariance(Check):
    """Predictions should not hinge on noise in, or the order of, a column the model ought to be robust to."""

    kind = "invariance"
    doc = "perturbing one input column (noise, shuffle or a constant) changes at most max_changed of predictions"
    params = (
        Param("column", str, doc="the input column to perturb"),
        Param("perturbation", str, choices=("noise", "shuffle", "constant"), doc="noise, shuffle or constant"),
        Param("scale", float, required=False, default=0.01, doc="noise: gaussian with scale × the column's std"),
        Param("value", (str, float), required=False, doc="constant: the value every row gets"),
        Param("max_changed", float, required=False, default=0.01, minimum=0.0, maximum=1.0),
        Param(
            "atol",
            float,
            required=False,
            default=0.0,
            minimum=0.0,
            doc="numeric predictions closer than this count as unchanged (for regression models)",
        ),
        Param("seed", int, required=False, default=0),
    )

    @classmethod
    def validate(cls, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        values = super().validate(raw, where)
        perturbation = values["perturbation"]
        # Constraints between keys, checked when the policy loads rather than halfway through a gate run.
        if perturbation == "constant" and values["value"] is None:
            raise InvalidInput(f'{where}: perturbation = "constant" needs value = … (the value every row gets).')
        if perturbation != "constant" and values["value"] is not None:
            raise InvalidInput(
                f'{where}: value applies only to perturbation = "constant"; got perturbation = {perturbation!r}. '
                "Remove value, or use the constant perturbation."
            )
        if perturbation == "noise" and values["scale"] <= 0:
            raise InvalidInput(f"{where}: scale must be greater than 0; got {values['scale']!r}.")
        return values

    def default_name(self) -> str:
        return f"{self.kind}:{self.values.get('column')}:{self.values.get('perturbation')}"

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        column = self["column"]
        if column not in ctx.input_columns:
            close = difflib.get_close_matches(column, ctx.input_columns, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CheckFailedToRun(
                f"{column!r} is not an input column of {ctx.version.ref}{hint}; its inputs are "
                f"{', '.join(ctx.input_columns)}"
            )
        features = ctx.features
        original = features.column(column)
        perturbed, how = self._perturb(original, np.random.default_rng(self["seed"]))
        before = ctx.predictions
        perturbed_features = features.set_column(features.schema.get_field_index(column), column, perturbed)
        after = _predict(ctx.model, perturbed_features, ctx)
        changed = _changed_rows(before, after, atol=self["atol"])
        inputs_changed = _changed_rows(
            np.asarray(original.to_numpy(zero_copy_only=False)), np.asarray(perturbed.to_numpy(zero_copy_only=False))
        )
        share = float(changed.mean())
        passed = share <= self["max_changed"]
        examples = [
            {
                "row": int(i),
                column: original[int(i)].as_py(),
                f"{column} perturbed": perturbed[int(i)].as_py(),
                "prediction": before[i].tolist(),
                "perturbed prediction": after[i].tolist(),
            }
            for i in np.flatnonzero(changed)[:EXAMPLE_ROWS]
        ]
        return Outcome(
            passed,
            f"{int(changed.sum()):,} of {len(changed):,} predictions ({share:.2%}) changed when {column} got {how}, "
            f"which altered {int(inputs_changed.sum()):,} input values; "
            f"{'within' if passed else 'more than'} the {self['max_changed']:.2%} allowed",
            measured={
                "changed_share": share,
                "changed_rows": int(changed.sum()),
                "rows": len(changed),
                "inputs_changed": int(inputs_changed.sum()),
            },
            threshold={"max_changed": self["max_changed"]},
            evidence={"table": examples} if examples else {},
        )

    def _perturb(self, column: pa.ChunkedArray, rng: Any) -> tuple[pa.Array, str]:
        """The column perturbed, in its own type, and how it was perturbed (for the message)."""
        import numpy as np
        import pyarrow as pa

        name, kind = self["column"], self["perturbation"]
        if kind == "shuffle":
            return column.take(pa.array(rng.permutation(len(column)))), f"shuffled with seed {self['seed']}"
        if kind == "constant":
            value = self["value"]
            try:
                scalar = pa.scalar(value, type=column.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise CheckFailedToRun(f"value = {value!r} does not fit {name!r} ({column.type}): {exc}") from exc
            if scalar.as_py() != value:  # Arrow truncates 3.5 to 3 for an integer column without complaint
                raise CheckFailedToRun(f"value = {value!r} is not a {column.type} value, the type of {name!r}")
            return pa.repeat(scalar, len(column)), f"the constant {value!r}"
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise CheckFailedToRun(
                f'perturbation = "noise" needs a numeric column; {name!r} is {column.type}. Use "shuffle" or '
                '"constant" for it.'
            )
        values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)  # nulls become NaN
        std = float(np.nanstd(values)) if np.isfinite(values).any() else 0.0
        if not np.isfinite(std) or std == 0:
            raise CheckFailedToRun(
                f"{name!r} does not vary in the eval data (std {std}), so noise scaled by its std changes nothing; "
                'use perturbation = "constant" or "shuffle"'
            )
        noisy = values + rng.normal(0.0, self["scale"] * std, len(values))
        if pa.types.is_integer(column.type):
            noisy = np.rint(noisy)  # stay in the column's type: a float in an integer column fails the signature
        array = pa.array(noisy, mask=np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool))
        return array.cast(column.type), f"gaussian noise of {self['scale']:g} × std {std:.3g}"


class DeterminismProcess(Check):
    """Catches state a model picks up from its process (hash seeds, thread counts, globals), unlike ``determinism``."""

    kind = "determinism_process"
    doc = "a fresh process that loads the version from the registry predicts exactly what this process does"
    params = (Param("rows", int, required=False, default=500, minimum=1),)

    def run(self, ctx: GateContext) -> Outcome:
        import numpy as np

        sample = ctx.features.slice(0, self["rows"])
        here = _predict(ctx.model, sample, ctx)
        there = run_fresh_process(ctx, sample, predictions=True).predictions
        assert there is not None
        here = _portable(here)
        if here.shape != there.shape:
            return Outcome(
                False,
                f"predictions have shape {here.shape} here but {there.shape} in a fresh process",
                measured={"rows": len(here), "shape": list(here.shape), "fresh_shape": list(there.shape)},
            )
        differing = _changed_rows(here, there)
        count = int(differing.sum())
        return Outcome(
            count == 0,
            f"{len(here):,} predictions "
            + ("identical in a fresh process" if count == 0 else f"compared: {count:,} differ in a fresh process"),
            measured={"rows": len(here), "differing": count},
            threshold={"max_differing": 0},
            evidence=(
                {
                    "table": [
                        {"row": int(i), "this process": here[i].tolist(), "fresh process": there[i].tolist()}
                        for i in np.flatnonzero(differing)[:EXAMPLE_ROWS]
                    ]
                }
                if count
                else {}
            ),
        )


# helpers ------------------------------------------------------------------------------------------------


def _predict(model: LoadedModel, data: object, ctx: GateContext) -> NDArray[Any]:
    try:
        return model.predict(data)
    except InvalidInput as exc:
        raise CheckFailedToRun(f"the model refused rows of {ctx.dataset.ref}: {exc}") from exc


def _repeat_rows(table: pa.Table, rows: int) -> pa.Table:
    """Exactly ``rows`` rows, repeating the table when it is shorter: the batch budget is for that many rows."""
    import pyarrow as pa

    copies = -(-rows // table.num_rows)
    return pa.concat_tables([table] * copies).slice(0, rows).combine_chunks()


def _changed_rows(before: NDArray[Any], after: NDArray[Any], *, atol: float = 0.0) -> NDArray[Any]:
    """One boolean per row: does any output of the row differ (by more than ``atol`` for numbers)?

    NaN against NaN counts as the same.
    """
    import numpy as np

    numeric = before.dtype.kind in "iuf" and after.dtype.kind in "iuf"
    if numeric and atol > 0:
        differ = np.asarray(np.abs(before.astype(float) - after.astype(float)) > atol)
    else:
        differ = np.asarray(before != after)
    if before.dtype.kind == "f" and after.dtype.kind == "f":
        differ &= ~(np.isnan(before) & np.isnan(after))
    return np.asarray(differ.reshape(len(before), -1).any(axis=1))


def _portable(predictions: NDArray[Any]) -> NDArray[Any]:
    """Predictions in a form ``numpy.save`` writes without pickle: object arrays (mixed labels) become text."""
    return predictions.astype(str) if predictions.dtype.kind == "O" else predictions


@dataclass(frozen=True)
class _FreshRun:
    peak_rss_bytes: int
    load_seconds: float  # opening the store and loading the version, digests verified; not interpreter start
    predictions: NDArray[Any] | None


def run_fresh_process(
    ctx: GateContext, rows: pa.Table, *, predictions: bool = False, timeout: float = PROCESS_TIMEOUT_SECONDS
) -> _FreshRun:
    """Load ``ctx.version`` from the registry in a new interpreter, predict on ``rows``, and report back."""
    import subprocess
    import tempfile
    from pathlib import Path

    import numpy as np
    import pyarrow.parquet as pq

    settings = ctx.client.settings
    with tempfile.TemporaryDirectory(prefix="shipyard-gate-") as folder:
        rows_path, out_path = Path(folder) / "rows.parquet", Path(folder) / "predictions.npy"
        pq.write_table(rows, rows_path)
        args = [
            settings.uri,
            settings.artifacts or "",
            ctx.version.ref,
            ctx.version.project,
            "1" if ctx.policy.allow_unsafe else "0",
            str(rows_path),
            str(out_path) if predictions else "",
        ]
        try:
            done = subprocess.run(
                [sys.executable, "-m", __name__, *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                cwd=str(settings.root),
                env=_environment(settings.token),
            )
        except subprocess.TimeoutExpired as exc:
            raise CheckFailedToRun(f"the fresh process did not finish within {timeout:.0f} s") from exc
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise CheckFailedToRun(
                f"a fresh process could not load {ctx.version.ref} and predict (exit code {done.returncode}): {last}"
            )
        try:
            report = json.loads(done.stdout.strip().splitlines()[-1])
            peak, load_seconds = int(report["peak_rss_bytes"]), float(report["load_seconds"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise CheckFailedToRun(f"the fresh process printed no report ({exc})") from exc
        loaded = np.load(out_path, allow_pickle=False) if predictions else None
    return _FreshRun(peak, load_seconds, loaded)


def _environment(token: str) -> dict[str, str] | None:
    """This process's environment, plus a server's token when the client has one (never on the command line,
    where other users of the machine can read it)."""
    import os

    return {**os.environ, "SHIPYARD_TOKEN": token} if token else None


def _fresh_process_main(argv: list[str]) -> None:
    """The fresh process: load from the registry, predict, save the predictions, print peak memory as JSON."""
    import resource
    import time

    import numpy as np
    import pyarrow.parquet as pq

    from shipyard.tracking import Client

    uri, artifacts, ref, project, trust, rows_path, out_path = argv
    started = time.perf_counter()
    client = Client(uri, artifacts=artifacts or None, capture_environment=False)
    model = client.models.load(ref, project=project, trust_unsafe=trust == "1")
    load_seconds = time.perf_counter() - started
    predictions = model.predict(pq.read_table(rows_path))
    if out_path:
        np.save(out_path, _portable(predictions), allow_pickle=False)
    client.close()
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    unit = 1 if sys.platform == "darwin" else 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
    print(json.dumps({"peak_rss_bytes": peak, "load_seconds": load_seconds}))


if __name__ == "__main__":
    _fresh_process_main(sys.argv[1:])
