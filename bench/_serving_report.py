"""The claims of ``bench/serving.py``: the targets, the figures per level, the ratios and the headlines.

Standard library only. ``summarize`` turns a server's runs into medians per level; ``evaluate`` checks the
issue's targets for Shipyard; ``headlines`` writes the report's claims in ``bench/_headlines.py``'s shape,
each with what differs between the sides (what each validates, as answered to ``VALIDATION_PROBES``).
A "server" here is ``bench/serving.py``'s ``Server``: its ``name``, ``label``, ``levels`` (level -> the
runs' results) and ``validation`` (probe -> HTTP status) are read.
"""

from __future__ import annotations

import statistics
from typing import Any

from _headlines import headline

# the targets (from the issue), checked for Shipyard
TARGET_VS_MLFLOW = 15.0  # at concurrency 32 and 64: requests/s at least 15x MLflow's (as pip gives it)
TARGET_VS_BENTOML = 10.0  # ... at least 10x BentoML's better variant (plain or adaptive batching)
TARGET_VS_FLOOR = 0.60  # ... and at least 60 % of the bare ASGI floor's
TARGET_P50_VS_PREDICT = 2.0  # at concurrency 1: p50 within 2x the bare predict endpoint's
TARGET_P99_AT_64_MS = 50.0
TARGET_MEMORY_EXTRA_MB = 150.0  # peak RSS under 2x the model's footprint + 150 MB
HIGH_LEVELS = (32, 64)


# What each side checks: the request row altered one way at a time; the answer's status is recorded.
VALIDATION_PROBES = {
    "string": 'f0 sent as the string "0.5"',
    "bool": "f0 sent as true",
    "extra": "an extra field (f20)",
    "missing": "f19 left out",
}


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt_ms(us: float | None) -> str:
    if us is None:
        return "-"
    ms = us / 1000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms" if ms < 100 else f"{ms:,.0f} ms"


def fmt_mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.0f} MB"


def times(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}x" if x < 10 else f"{x:,.1f}x" if x < 100 else f"{x:,.0f}x"


def summarize(server: Any) -> dict[int, dict[str, Any]]:
    """Per level: medians of req/s and latencies (closed-loop and wrk's corrected) over the runs; errors summed."""
    out = {}
    for level, runs in server.levels.items():
        out[level] = {
            key: median([r[key] for r in runs if r.get(key) is not None])
            for key in ("rps", "p50_us", "p99_us", "max_us", "p50_corrected_us", "p99_corrected_us")
        }
        out[level].update(errors=sum(r["errors"] for r in runs), samples=runs)
    return out


def table(lines: list[tuple[str, ...]], header: tuple[str, ...], left: int = 1) -> str:
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def fmt(line: tuple[str, ...]) -> str:
        cells = [
            c.ljust(w) if i < left or i == len(line) - 1 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return " | ".join(cells).rstrip()

    return "\n".join([fmt(header), "-+-".join("-" * w for w in widths), *(fmt(line) for line in lines)])


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "n/a"}[met]


def better_bentoml(figures: dict[str, dict[int, dict[str, Any]]]) -> dict[int, dict[str, Any]]:
    """Per level, the BentoML variant (plain or adaptive batching) with more requests/s and no errors."""
    out: dict[int, dict[str, Any]] = {}
    for name in ("bentoml", "bentoml-batching"):
        for level, fig in figures.get(name, {}).items():
            best = out.get(level)
            valid = not fig["errors"]
            if best is None or (valid, fig["rps"] or 0) > (not best["errors"], best["rps"] or 0):
                out[level] = {**fig, "variant": name}
    return out


def paired_ratios(ours: Any, floor: Any, level: int) -> list[float]:
    """Shipyard's req/s over the floor's, run by run (the two run back to back in each repeat and floor pair)."""
    if ours is None or floor is None:
        return []
    pairs = zip(ours.levels.get(level, []), floor.levels.get(level, []), strict=False)
    return [a["rps"] / b["rps"] for a, b in pairs if b["rps"]]


def evaluate(
    figures: dict[str, dict[int, dict[str, Any]]], memory: dict[str, Any], footprint: dict[str, Any]
) -> list[dict[str, Any]]:
    """The issue's targets, for Shipyard; a figure from a level with errors makes its target invalid."""
    ours, predict = figures.get("shipyard", {}), figures.get("floor-predict", {})

    def get(side: dict[int, dict[str, Any]], level: int, key: str) -> float | None:
        return side.get(level, {}).get(key)

    def errors(*pairs: tuple[dict[int, dict[str, Any]], int]) -> bool:
        return any(side.get(level, {}).get("errors") for side, level in pairs)

    checks = []
    for key, label, other, minimum in (
        (
            "vs_bentoml",
            f"req/s >= {TARGET_VS_BENTOML:g}x BentoML's better variant",
            better_bentoml(figures),
            TARGET_VS_BENTOML,
        ),
        (
            "vs_mlflow",
            f"req/s >= {TARGET_VS_MLFLOW:g}x MLflow's (pip install mlflow)",
            figures.get("mlflow", {}),
            TARGET_VS_MLFLOW,
        ),
        (
            "vs_floor",
            f"req/s >= {TARGET_VS_FLOOR:.0%} of the bare ASGI floor",
            figures.get("floor-asgi", {}),
            TARGET_VS_FLOOR,
        ),
    ):
        values = {level: ratio(get(ours, level, "rps"), get(other, level, "rps")) for level in HIGH_LEVELS}
        known = [v for v in values.values() if v is not None]
        met = None if len(known) < len(HIGH_LEVELS) else all(v >= minimum for v in known)
        shown = ", ".join(
            f"c={level}: {'-' if v is None else f'{v:.0%}' if key == 'vs_floor' else times(v)}"
            for level, v in values.items()
        )
        invalid = errors(*((side, level) for side in (ours, other) for level in HIGH_LEVELS))
        checks.append({"key": key, "target": label, "figure": shown, "values": values, "met": met, "invalid": invalid})

    p50 = ratio(get(ours, 1, "p50_us"), get(predict, 1, "p50_us"))
    checks.append(
        {
            "key": "p50_vs_predict_floor",
            "target": f"c=1: p50 <= {TARGET_P50_VS_PREDICT:g}x the predict floor's",
            "figure": f"{fmt_ms(get(ours, 1, 'p50_us'))} vs {fmt_ms(get(predict, 1, 'p50_us'))} = {times(p50)}",
            "values": p50,
            "met": None if p50 is None else p50 <= TARGET_P50_VS_PREDICT,
            "invalid": errors((ours, 1), (predict, 1)),
        }
    )
    p99 = get(ours, 64, "p99_corrected_us")
    checks.append(
        {
            "key": "p99_at_64",
            "target": f"c=64: p99 (corrected) < {TARGET_P99_AT_64_MS:g} ms",
            "figure": f"{fmt_ms(p99)} (closed-loop {fmt_ms(get(ours, 64, 'p99_us'))})",
            "values": p99,
            "met": None if p99 is None else p99 / 1000 < TARGET_P99_AT_64_MS,
            "invalid": errors((ours, 64)),
        }
    )
    peak = memory.get("shipyard", {}).get("process_peak_bytes")
    limit = footprint.get("limit_bytes")
    checks.append(
        {
            "key": "memory",
            "target": f"peak RSS < 2x model footprint + {TARGET_MEMORY_EXTRA_MB:g} MB",
            "figure": f"{fmt_mb(peak)} vs limit {fmt_mb(limit)}",
            "values": peak,
            "met": None if peak is None or limit is None else peak < limit,
            "invalid": False,
        }
    )
    return checks


def answers(server: Any) -> str:
    """What a server answered to the validation probes, e.g. '"0.5" 422, true 422, extra field 422, missing 422'."""
    if server is None or not server.validation:
        return "not probed"
    names = {"string": '"0.5"', "bool": "true", "extra": "an extra field", "missing": "a missing field"}
    return ", ".join(f"{names[k]} {server.validation[k]}" for k in VALIDATION_PROBES if k in server.validation)


def headlines(figures: dict[str, dict[int, dict[str, Any]]], servers: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's claims in bench/_headlines.py's shape (one row each in bench/results/summary.md)."""
    ours = figures.get("shipyard", {})
    bento = better_bentoml(figures)
    same = (
        "single-row POST of the same 20 floats to the same fitted LogisticRegression, one worker pinned to one core, "
        "wrk closed loop with one connection per concurrent request"
    )
    ship = f"Shipyard validates against the signature ({answers(servers.get('shipyard'))}) and logs every prediction"
    out = []
    for level in HIGH_LEVELS:
        fig = ours.get(level)
        if fig is None:
            continue
        peer = bento.get(level)
        if peer is not None:
            variant = servers[peer["variant"]]
            out.append(
                headline(
                    f"req/s vs BentoML (better variant), c={level}",
                    ours=fig["rps"],
                    theirs=peer["rps"],
                    peer=f"BentoML ({variant.label})",
                    unit="req/s",
                    higher_is_better=True,
                    same_work=same,
                    target=f">={TARGET_VS_BENTOML:g}x",
                    met=None if fig["errors"] or peer["errors"] else fig["rps"] >= TARGET_VS_BENTOML * peer["rps"],
                    differs=f"{ship}; BentoML's pydantic input model (lax) answers {answers(variant)}, logs nothing; "
                    "both on uvicorn + uvloop + httptools; BentoML access log off",
                )
            )
        for name, target, note in (
            ("mlflow-uvloop", "-", "MLflow on the same HTTP stack (uvloop + httptools added to its virtualenv)"),
            ("mlflow", f">={TARGET_VS_MLFLOW:g}x", "MLflow as pip gives it (uvicorn on asyncio + h11)"),
        ):
            theirs = figures.get(name, {}).get(level)
            if theirs is None:
                continue
            out.append(
                headline(
                    f"req/s vs {servers[name].label}, c={level}",
                    ours=fig["rps"],
                    theirs=theirs["rps"],
                    peer=servers[name].label,
                    unit="req/s",
                    higher_is_better=True,
                    same_work=same,
                    target=target,
                    met=None
                    if target == "-" or fig["errors"] or theirs["errors"]
                    else fig["rps"] >= TARGET_VS_MLFLOW * theirs["rps"],
                    differs=f"{ship}; {note}, body dataframe_records, enforces its inferred schema "
                    f"({answers(servers[name])}), logs nothing",
                )
            )
        floor = figures.get("floor-asgi", {}).get(level)
        if floor is not None:
            paired = paired_ratios(servers.get("shipyard"), servers.get("floor-asgi"), level)
            spread = (
                f"; run-by-run ratios {min(paired):.0%}-{max(paired):.0%} over {len(paired)} pairs" if paired else ""
            )
            out.append(
                headline(
                    f"req/s as a fraction of the bare ASGI floor, c={level}",
                    ours=fig["rps"],
                    floor=floor["rps"],
                    floor_name="bare ASGI constant (uvicorn+uvloop+httptools, orjson)",
                    unit="req/s",
                    higher_is_better=True,
                    same_work=same,
                    target=f">={TARGET_VS_FLOOR:g} of floor",
                    met=None if fig["errors"] or floor["errors"] else fig["rps"] >= TARGET_VS_FLOOR * floor["rps"],
                    differs=f"{ship}, micro-batches and predicts; the floor parses the body with orjson and answers a "
                    f"constant{spread}",
                )
            )
    fig = ours.get(64)
    if fig is not None and fig.get("p99_corrected_us") is not None:
        peer, floor = bento.get(64, {}), figures.get("floor-asgi", {}).get(64, {})

        def ms(f: dict[str, Any]) -> float | None:
            return None if f.get("p99_corrected_us") is None else f["p99_corrected_us"] / 1000

        out.append(
            headline(
                "p99 latency (wrk's coordinated-omission-corrected), c=64",
                ours=ms(fig),
                theirs=ms(peer),
                peer="BentoML (better variant)" if peer else None,
                floor=ms(floor),
                floor_name="bare ASGI constant" if floor else None,
                unit="ms",
                same_work=same,
                target=f"<{TARGET_P99_AT_64_MS:g} ms",
                met=None if fig["errors"] else ms(fig) < TARGET_P99_AT_64_MS,
                differs=f"{ship}; closed-loop p99: Shipyard {fmt_ms(fig['p99_us'])}"
                + (f", BentoML {fmt_ms(peer['p99_us'])}" if peer else ""),
            )
        )
    return out
