"""Settings: one typed object, read in one place.

Precedence, highest first: an argument to ``Settings.load(...)`` > a ``SHIPYARD_*`` environment
variable > the ``[shipyard]`` table of ``shipyard.toml`` > the default below. Nothing else in
Shipyard reads ``os.environ``.

The project root is the nearest folder, walking up from the working directory as git finds
``.git``, that holds a ``.shipyard`` folder or a ``shipyard.toml`` file; without one, the working
directory. Whether a missing store is created is the entry point's call, by one rule (docs/cli.md, "Where
the store is"): what starts new work (``sy.start_run``, a ``Client``, ``shipyard init``, ``shipyard
pipeline run|schedule``) creates it; every other command refuses, saying where it looked.

Each key's environment variable is ``SHIPYARD_`` and the key in capitals (``SHIPYARD_FLUSH_INTERVAL``).

| key | default | meaning |
| --- | --- | --- |
| uri | ``<root>/.shipyard`` | a folder (SQLite + artifacts), ``sqlite:///…``, ``postgresql+psycopg://…`` |
| artifacts | ``<uri folder>/artifacts`` | artifact store URL (``file://…``, a path, ``s3://…``) |
| project | ``default`` | project used when none is named |
| flush_interval | 1.0 | seconds a buffered metric point may wait to be written |
| flush_max_points | 10000 | buffered points that trigger a write |
| heartbeat_interval | 10.0 | seconds between a running run's heartbeats |
| heartbeat_timeout | 60.0 | a running run silent this long reads ``crashed`` |
| sqlite_busy_timeout | 60.0 | seconds a SQLite writer waits for the lock |
| sqlite_synchronous | NORMAL | ``NORMAL`` survives process crashes, ``FULL`` power loss |
| gc_grace | 3600.0 | seconds an unreferenced blob is kept, so in-flight writes are safe |
| capture_environment | true | record git, Python, platform and package versions on each run |
| server_max_body_mb | 64 | ``shipyard server``: the largest JSON request body in MiB (a larger one is a 413) |
| server_artifacts_direct | false | ``shipyard server``: clients get presigned object-store URLs, blobs not proxied |
| server_threads | 16 | ``shipyard server``: requests a worker handles at once, each on a pooled connection |

The gate's override privilege is not a setting: it comes only from ``SHIPYARD_ALLOW_OVERRIDE=1`` in the
environment of an admin's process (``override_allowed``), read when an override is attempted. A
``shipyard.toml`` committed to a repository, or a constructor argument, must not be able to grant it, so
``allow_override = true`` in either is refused.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInput

CONFIG_FILE = "shipyard.toml"
HOME_DIR = ".shipyard"
_TRUE = {"1", "true", "yes", "on"}
_MAX_SECONDS = 315_360_000.0  # ten years: every float setting is a duration in seconds
_FALSE = {"0", "false", "no", "off"}


def find_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``.shipyard`` or ``shipyard.toml``, else ``start``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / HOME_DIR).is_dir() or (folder / CONFIG_FILE).is_file():
            return folder
    return here


@dataclass(frozen=True)
class Settings:
    root: Path = field(default_factory=Path.cwd)
    uri: str = ""
    artifacts: str = ""
    project: str = "default"
    flush_interval: float = 1.0
    flush_max_points: int = 10_000
    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 60.0
    sqlite_busy_timeout: float = 60.0
    sqlite_synchronous: str = "NORMAL"
    gc_grace: float = 3600.0
    capture_environment: bool = True
    server_max_body_mb: int = 64
    server_artifacts_direct: bool = False
    server_threads: int = 16
    token: str = field(default="", repr=False)
    """The API token for a server URI (``SHIPYARD_TOKEN``); never read from ``shipyard.toml``."""

    @classmethod
    def load(
        cls, *, cwd: str | Path | None = None, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        environ = os.environ if environ is None else environ
        root = find_root(cwd)
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        config_path = root / CONFIG_FILE
        if config_path.is_file():
            table = _read_table(config_path)
            if "token" in table:
                raise InvalidInput(
                    f"{config_path} holds an API token ([shipyard] token); a token is a secret and a project file "
                    "gets committed. Remove it, revoke the token (`shipyard tokens revoke`), and set SHIPYARD_TOKEN "
                    "in the environment instead."
                )
            values.update(table)
            sources.update({k: f"{config_path} [shipyard] {k}" for k in table})
        for name in _field_names():
            env_name = "SHIPYARD_" + name.upper()
            if env_name in environ:
                values[name] = environ[env_name]
                sources[name] = f"environment variable {env_name}"
        for name, value in overrides.items():
            if name == OVERRIDE_KEY:
                _refuse_override_grant(value, "the argument allow_override")
                continue
            if name not in _field_names():
                raise InvalidInput(
                    f"Unknown setting {name!r}{_did_you_mean(name)}; valid settings: {', '.join(_field_names())}."
                )
            if value is not None:
                values[name] = value
                sources[name] = f"argument {name}"
        typed = {name: _coerce(name, value, sources[name]) for name, value in values.items()}
        settings = cls(root=root, **typed)
        if not settings.uri:
            settings = dataclasses.replace(settings, uri=str(root / HOME_DIR))
        return settings


OVERRIDE_KEY = "allow_override"
OVERRIDE_ENV = "SHIPYARD_ALLOW_OVERRIDE"


def override_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process may override the gate: ``SHIPYARD_ALLOW_OVERRIDE=1`` in its environment, read now."""
    environ = os.environ if environ is None else environ
    return environ.get(OVERRIDE_ENV, "").strip().lower() in _TRUE


def _refuse_override_grant(value: Any, source: str) -> None:
    if value is None or value is False or str(value).strip().lower() in _FALSE:
        return  # not granting anything
    from shipyard.core.errors import PermissionDenied

    raise PermissionDenied(
        f"{source} tries to grant the gate's override privilege, which no file or argument can grant: it comes "
        f"only from {OVERRIDE_ENV}=1 in the environment of an admin's process (on a team server, from the admin "
        f"role). Remove it."
    )


def project_table(root: Path, name: str) -> dict[str, Any]:
    """Another table of the project's ``shipyard.toml`` (``gate``, ``monitor``, …); empty when absent.

    Each owner validates its own table; this only reads it.
    """
    return read_table(root / CONFIG_FILE, name)


def read_table(path: Path, name: str) -> dict[str, Any]:
    """The table ``[name]`` of the TOML file at ``path``; empty when the file or the table is absent."""
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            table = tomllib.load(fh).get(name, {})
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}. Fix the file and try again.") from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8 by definition
        raise InvalidInput(f"{path} is not valid UTF-8 TOML: {exc}. Save it as UTF-8 and try again.") from exc
    if not isinstance(table, dict):
        raise InvalidInput(f"{path}: [{name}] must be a table; got {table!r}.")
    return table


def table_digest(table: Mapping[str, Any]) -> str:
    """A digest of a parsed TOML table's content: reformatting or reordering the file keeps it the same."""
    from shipyard.core.digests import digest_bytes

    return digest_bytes(json.dumps(table, sort_keys=True, separators=(",", ":"), default=str).encode())


def _field_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Settings) if f.name != "root")


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, _field_names(), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_table(path: Path) -> dict[str, Any]:
    table = read_table(path, "shipyard")
    if OVERRIDE_KEY in table:
        _refuse_override_grant(table.pop(OVERRIDE_KEY), f"{path} [shipyard] {OVERRIDE_KEY}")
    unknown = sorted(set(table) - set(_field_names()))
    if unknown:
        raise InvalidInput(
            f"{path}: unknown key(s) {', '.join(unknown)} in [shipyard]{_did_you_mean(unknown[0])}; "
            f"valid keys: {', '.join(_field_names())}."
        )
    return dict(table)


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = str({f.name: f.type for f in dataclasses.fields(Settings)}[name])
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError
        if kind == "float":
            number = float(value)
            if not 0 <= number <= _MAX_SECONDS:  # also refuses nan and inf
                raise ValueError
            return number
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            number = int(value)
            if number <= 0:
                raise ValueError
            return number
        if name == "sqlite_synchronous":
            text = str(value).upper()
            if text not in {"NORMAL", "FULL", "EXTRA"}:
                raise ValueError
            return text
        return str(value)
    except (TypeError, ValueError):
        expected = {"bool": "true or false", "float": "a number from 0 to 315,360,000", "int": "a positive integer"}
        wanted = expected.get(kind, "NORMAL, FULL or EXTRA" if name == "sqlite_synchronous" else "a string")
        raise InvalidInput(f"The setting {name!r} from {source} must be {wanted}; got {value!r}.") from None
