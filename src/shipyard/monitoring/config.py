"""Monitors: ``[[monitor]]`` tables in ``shipyard.toml`` (or a file given with ``--config``), validated once.

```toml
[[monitor]]
name = "churn-drift"
model = "churn@champion"        # the served model: NAME@ALIAS or NAME@VERSION
window = "1h"                   # windows of time (aligned to the epoch) ...
# window_rows = 5000            # ... or of this many logged rows
min_rows = 100                  # fewer rows than this: the window is "insufficient data"
[[monitor.rules]]
kind = "feature_drift"          # per input column, with the method chosen by its type and the window size
threshold = 0.2                 # replaces the distance methods' thresholds (p-value methods keep p_value)
min_features = 3                # fail when at least this many columns drift
for_windows = 2                 # ... in this many evaluated windows in a row
[[monitor.rules]]
kind = "live_metric"            # needs feedback; judged on windows with at least min_labels labels
metric = "roc_auc"
min = 0.75
[monitor.on_alert]
webhook = "http://127.0.0.1:9000/hooks/ml"
retrain = "pipelines.py:training"
canary = { share = 0.1, min_requests = 500, max_drop = 0.01 }
```

Every key is declared below with its type and range; a mistake is one ``InvalidInput`` naming the file, the
monitor, the rule and the key.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.core.config import CONFIG_FILE
from shipyard.core.errors import InvalidInput
from shipyard.core.refs import parse_ref
from shipyard.core.validation import check_name, parse_duration
from shipyard.gates.check import Param, validate_params

METHODS = ("auto", "ks", "wasserstein", "psi", "jensen_shannon", "chi2", "linf")
ROLES = ("champion", "canary", "shadow")

_DRIFT = (
    Param("method", str, required=False, default="auto", choices=METHODS, doc="a drift method, or auto"),
    Param("threshold", float, required=False, minimum=0.0, doc="drift when the distance reaches it"),
    Param("p_value", float, required=False, default=0.05, minimum=1e-12, maximum=0.5),
    Param("for_windows", int, required=False, default=1, minimum=1),
)
RULES: dict[str, tuple[Param, ...]] = {
    "feature_drift": (
        *_DRIFT,
        Param("columns", list, required=False, doc="input columns to watch (default: every input)"),
        Param("min_features", int, required=False, default=1, minimum=1),
    ),
    "prediction_drift": _DRIFT,
    "data_quality": (
        Param("max_missing_share", float, required=False, minimum=0.0, maximum=1.0),
        Param("max_out_of_domain_share", float, required=False, minimum=0.0, maximum=1.0),
        Param("columns", list, required=False),
        Param("min_features", int, required=False, default=1, minimum=1),
        Param("for_windows", int, required=False, default=1, minimum=1),
    ),
    "live_metric": (
        Param("metric", str, doc='the metric to watch, e.g. "roc_auc"'),
        Param("min", float, required=False),
        Param("max", float, required=False),
        Param("min_labels", int, required=False, default=50, minimum=1),
        Param("for_windows", int, required=False, default=1, minimum=1),
    ),
}
_MONITOR = (
    Param("name", str),
    Param("model", str, doc='the served model, e.g. "churn@champion"'),
    Param("project", str, required=False),
    Param("window", (str, float), required=False, doc='a duration such as "1h"'),
    Param("window_rows", int, required=False, minimum=1),
    Param("min_rows", int, required=False, default=100, minimum=1),
    Param("roles", list, required=False, default=["champion", "canary"], choices=ROLES),
    Param("rules", list, doc="[[monitor.rules]] tables"),
    Param("on_alert", dict, required=False, default={}),
)
_ON_ALERT = (
    Param("webhook", str, required=False),
    Param("webhook_timeout", float, required=False, default=5.0, minimum=0.1),
    Param("webhook_retries", int, required=False, default=3, minimum=0, maximum=10),
    Param("retrain", str, required=False, doc='a pipeline, e.g. "pipelines.py:training"'),
    Param("gate_data", str, required=False, doc="the eval dataset the gate judges the retrained model on"),
    Param("canary", dict, required=False),
)
_CANARY = (
    Param("share", float, required=False, default=0.1, minimum=0.001, maximum=0.5),
    Param("min_requests", int, required=False, default=500, minimum=1),
    Param("max_drop", float, required=False, default=0.01, minimum=0.0),
)


@dataclass(frozen=True)
class RuleSpec:
    kind: str
    name: str
    values: Mapping[str, Any]

    @property
    def for_windows(self) -> int:
        return int(self.values["for_windows"])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, **{k: v for k, v in self.values.items() if v is not None}}


@dataclass(frozen=True)
class CanarySpec:
    share: float = 0.1
    min_requests: int = 500
    max_drop: float = 0.01


@dataclass(frozen=True)
class OnAlert:
    webhook: str | None = None
    webhook_timeout: float = 5.0
    webhook_retries: int = 3
    retrain: str | None = None
    gate_data: str | None = None
    """The gate's eval dataset for a retrained version (default: the one of the champion's latest verdict)."""
    canary: CanarySpec | None = None


@dataclass(frozen=True)
class MonitorSpec:
    name: str
    model: str
    rules: tuple[RuleSpec, ...]
    project: str | None = None
    window_seconds: float | None = None
    window_rows: int | None = None
    min_rows: int = 100
    roles: tuple[str, ...] = ("champion", "canary")
    on_alert: OnAlert = field(default_factory=OnAlert)
    source: str = field(default="(monitors)", compare=False)

    @property
    def model_name(self) -> str:
        return parse_ref(self.model).name

    def describe_window(self) -> str:
        if self.window_rows is not None:
            return f"{self.window_rows:,} rows"
        seconds = self.window_seconds or 0.0
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds >= size and seconds % size == 0:
                return f"{int(seconds // size)}{unit}"
        return f"{seconds:g}s"


def load_monitors(root: Path, file: Path | None = None) -> list[MonitorSpec]:
    """The monitors of ``file`` if given, else of ``shipyard.toml`` in ``root``; none if it has no [[monitor]]."""
    path = file if file is not None else root / CONFIG_FILE
    if file is not None and not file.is_file():
        raise InvalidInput(f"No monitor file at {file}. Pass the path of a TOML file with [[monitor]] tables.")
    if not path.is_file():
        return []
    # Not core.config.read_table, which wants [monitor] to be a table; [[monitor]] is an array of them. The same
    # messages as there.
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh).get("monitor", [])
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}. Fix the file and try again.") from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8 by definition
        raise InvalidInput(f"{path} is not valid UTF-8 TOML: {exc}. Save it as UTF-8 and try again.") from exc
    return parse_monitors(raw, str(path))


def parse_monitors(raw: Any, source: str = "(monitors)") -> list[MonitorSpec]:
    if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
        raise InvalidInput(f"{source}: monitors are [[monitor]] tables (an array of tables); got {raw!r}.")
    monitors = [_monitor(table, index, source) for index, table in enumerate(raw, start=1)]
    names = [m.name for m in monitors]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInput(f"{source}: two [[monitor]] tables are named {twice[0]!r}; names must be unique.")
    return monitors


def find_monitor(monitors: Sequence[MonitorSpec], name: str) -> MonitorSpec:
    for monitor in monitors:
        if monitor.name == name:
            return monitor
    names = [m.name for m in monitors]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InvalidInput(
        f"No monitor named {name!r}.{hint} Monitors in the configuration: {', '.join(names) or 'none'} "
        "(declare them as [[monitor]] tables in shipyard.toml)."
    )


def _monitor(table: Mapping[str, Any], index: int, source: str) -> MonitorSpec:
    label = table.get("name")
    where = f"{source}: [[monitor]] #{index}" + (f" ({label!r})" if isinstance(label, str) else "")
    values = validate_params(table, _MONITOR, where, "[[monitor]]")
    name = check_name(values["name"], "monitor")
    try:
        ref = parse_ref(values["model"])
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: model: {exc}") from None
    if ref.alias is None and ref.version is None:
        raise InvalidInput(f'{where}: model = {values["model"]!r} needs a version or an alias, e.g. "churn@champion".')
    window, rows = values["window"], values["window_rows"]
    if (window is None) == (rows is None):
        raise InvalidInput(
            f'{where}: give window = "1h" (a duration) or window_rows = 5000 (a row count), one of them.'
        )
    try:
        seconds = parse_duration(window, "window")
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    rules = values["rules"]
    if not rules or not all(isinstance(r, dict) for r in rules):
        raise InvalidInput(f'{where}: needs at least one [[monitor.rules]] table with kind = "…".')
    specs = tuple(_rule(rule, i, where) for i, rule in enumerate(rules, start=1))
    rule_names = [r.name for r in specs]
    twice = sorted({n for n in rule_names if rule_names.count(n) > 1})
    if twice:
        raise InvalidInput(f'{where}: two rules are named {twice[0]!r}; give one of them name = "…".')
    return MonitorSpec(
        name=name,
        model=str(ref),
        rules=specs,
        project=values["project"],
        window_seconds=seconds,
        window_rows=rows,
        min_rows=values["min_rows"],
        roles=tuple(values["roles"]),
        on_alert=_on_alert(values["on_alert"], where, Path(source).parent if Path(source).is_file() else None),
        source=source,
    )


def _rule(table: Mapping[str, Any], index: int, where: str) -> RuleSpec:
    kind = table.get("kind")
    here = f"{where}, [[monitor.rules]] #{index}"
    if not isinstance(kind, str) or kind not in RULES:
        close = difflib.get_close_matches(str(kind), list(RULES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidInput(f"{here}: kind = {kind!r} is not a rule kind{hint}; choose from {', '.join(RULES)}.")
    name = table.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"{here}: name must be a string; got {name!r}.")
    here = f"{here} (kind = {kind!r})"
    values = validate_params({k: v for k, v in table.items() if k not in ("kind", "name")}, RULES[kind], here, kind)
    for key in ("columns",):
        if values.get(key) is not None and not all(isinstance(c, str) for c in values[key]):
            raise InvalidInput(f"{here}: {key} must be a list of column names; got {values[key]!r}.")
    if kind == "live_metric":
        from shipyard.gates.metrics import check_metric

        try:
            check_metric(values["metric"])
        except InvalidInput as exc:
            raise InvalidInput(f"{here}: {exc}") from None
        if (values["min"] is None) == (values["max"] is None):
            raise InvalidInput(f"{here}: give min = … (the metric must stay at or above it) or max = …, one of them.")
    if kind == "data_quality" and values["max_missing_share"] is None and values["max_out_of_domain_share"] is None:
        raise InvalidInput(f"{here}: give max_missing_share and/or max_out_of_domain_share.")
    default = f"{kind}:{values['metric']}" if kind == "live_metric" else kind
    return RuleSpec(kind=kind, name=name or default, values=values)


def _on_alert(table: Mapping[str, Any], where: str, base: Path | None) -> OnAlert:
    """``base`` is the folder of the configuration file: a relative ``retrain`` file is read from there, as a
    user who wrote ``retrain = "pipelines.py:training"`` beside ``shipyard.toml`` means, whatever the working
    directory of the process that evaluates the monitor."""
    here = f"{where}, [monitor.on_alert]"
    values = validate_params(table, _ON_ALERT, here, "on_alert")
    webhook = values["webhook"]
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise InvalidInput(f"{here}: webhook must be an http:// or https:// URL; got {webhook!r}.")
    canary = None
    if values["canary"] is not None:
        canary = CanarySpec(**validate_params(values["canary"], _CANARY, f"{here}, canary", "canary"))
    if (canary is not None or values["gate_data"] is not None) and values["retrain"] is None:
        raise InvalidInput(
            f'{here}: canary and gate_data apply to a retrained model; add retrain = "FILE.py:PIPELINE".'
        )
    retrain = values["retrain"]
    if retrain is not None and base is not None:
        file, sep, name = retrain.rpartition(":")
        if sep and file and not Path(file).is_absolute():
            retrain = f"{base / file}:{name}"
    return OnAlert(
        webhook=webhook,
        webhook_timeout=values["webhook_timeout"],
        webhook_retries=values["webhook_retries"],
        retrain=retrain,
        gate_data=values["gate_data"],
        canary=canary,
    )
