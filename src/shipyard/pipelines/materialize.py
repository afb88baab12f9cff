"""Materialisers: how a step's outputs are stored, and how the next step gets them back.

- ``dataset``: ``-> sy.Dataset`` or any table; a dataset version (canonical Parquet) named ``pipeline.node``.
- ``model``: ``-> sy.Model``; a model package in its flavor's safe format, registered with ``register=``.
- ``json``: numbers, strings, lists and dicts of them; a JSON blob logged as ``outputs/NAME.json``.
- ``pickle``: anything else; a cloudpickle blob, marked unsafe.

Each output is described by an entry (``{"kind": …, "digest": …}``) kept on the step's record; its
``digest`` is what the next step's cache key sees. Blobs are logged as the step run's artifacts, so
garbage collection keeps them as long as the run exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import DatasetVersion, RunArtifact
from shipyard.core.errors import InvalidInput
from shipyard.pipelines.types import Dataset, Model, is_table, is_table_type, table_kind

if TYPE_CHECKING:
    from shipyard.pipelines.definition import Step
    from shipyard.tracking import Client, Run

_INLINE_JSON_BYTES = 16_384


def store_output(
    client: Client, run: Run, step: Step, output: str, annotation: Any, value: Any, *, dataset_name: str, train: Any
) -> dict[str, Any]:
    """Store one output of ``step`` (run as ``run``) and return the entry describing it."""
    if annotation is Model:
        return _store_model(client, run, step, output, value, train)
    if annotation is Dataset or is_table_type(annotation) or is_table(value):
        return _store_dataset(client, run, output, value, dataset_name)
    encoded = _json_bytes(value)
    if encoded is not None:
        _log_metrics(run, value)
        digest = _log_blob(client, run, f"outputs/{output}.json", encoded)
        entry: dict[str, Any] = {"kind": "json", "digest": digest}
        if len(encoded) <= _INLINE_JSON_BYTES:
            entry["value"] = json.loads(encoded)
        return entry
    import cloudpickle

    digest = _log_blob(client, run, f"outputs/{output}.pkl", cloudpickle.dumps(value))
    run.set_tag(f"shipyard.output.{output}.unsafe", "pickle")
    return {"kind": "pickle", "digest": digest, "unsafe": True, "type": type(value).__qualname__}


def load_input(client: Client, entry: Mapping[str, Any], wanted: Any) -> Any:
    """The value a step receives for an input stored as ``entry``, converted to the parameter's annotation."""
    kind = entry["kind"]
    if kind == "dataset":
        version = client.datasets.get(entry["ref"], project=entry.get("project"))
        handle = Dataset(version, lambda: client.datasets.load(version))
        return _as_table_type(handle, wanted)
    if kind == "model":
        from shipyard.registry.packages import load_package

        blobs = client.backend.blobs
        return Model(
            entry["digest"], entry.get("ref"), lambda: load_package(blobs, entry["digest"], what="a step's model")
        )
    if kind == "json":
        if "value" in entry:
            return entry["value"]
        return json.loads(client.backend.blobs.read_bytes(entry["digest"]))
    if kind == "pickle":
        import cloudpickle

        # Trusted: this store's own pipeline wrote it, and the blob's digest is verified on read.
        return cloudpickle.loads(client.backend.blobs.read_bytes(entry["digest"]))
    raise InvalidInput(f"Unknown output kind {kind!r} in a pipeline step record; upgrade Shipyard.")


def dataset_entry(version: DatasetVersion) -> dict[str, Any]:
    ref = f"{version.name}@{version.version}"
    return {"kind": "dataset", "digest": version.digest, "ref": ref, "project": version.project, "id": version.id}


def _store_dataset(client: Client, run: Run, output: str, value: Any, name: str) -> dict[str, Any]:
    if isinstance(value, Dataset):
        version = value.version
    elif isinstance(value, DatasetVersion):
        version = value
    else:
        version = client.datasets.register(name, value, project=run.project)
    client.backend.pipelines.add_outputs(run.id, {output: version.id})
    return dataset_entry(version)


def _store_model(client: Client, run: Run, step: Step, output: str, value: Any, train: Any) -> dict[str, Any]:
    from shipyard.registry.packages import store_package

    if isinstance(value, Model):
        return {"kind": "model", "digest": value.digest, "ref": value.ref}
    if train is None:
        raise InvalidInput(
            f"Step {step.name!r} returns a sy.Model but reads no sy.Dataset, so the model's input signature cannot "
            "be inferred. Give the step a Dataset parameter (its training data)."
        )
    if step.register:
        version = run.log_model(value, step.register, train_data=train)
        return {"kind": "model", "digest": version.artifact_digest, "ref": version.ref, "flavor": version.flavor}
    sample = client.models.sample_rows(train)  # the first rows, enough to infer the signature
    stored = store_package(client.backend.blobs, value, train_data=sample)
    artifacts = [RunArtifact(f"outputs/{output}/{path}", digest, size) for path, digest, size in stored.files]
    artifacts.append(
        RunArtifact(f"outputs/{output}/MANIFEST.json", stored.digest, client.backend.blobs.size(stored.digest))
    )
    client.backend.store.add_artifacts(run.id, artifacts)
    return {"kind": "model", "digest": stored.digest, "ref": None, "flavor": stored.info.flavor}


def _json_bytes(value: Any) -> bytes | None:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=True).encode()
    except (TypeError, ValueError):
        return None


def _log_blob(client: Client, run: Run, path: str, data: bytes) -> str:
    digest, size = client.backend.blobs.put_bytes(data)
    client.backend.store.add_artifacts(run.id, [RunArtifact(path, digest, size)])
    return digest


def _log_metrics(run: Run, value: Any) -> None:
    """A dict of numbers (an evaluation step's scores) is also logged as the step run's metrics."""
    if isinstance(value, dict) and value and all(_is_number(v) for v in value.values()):
        run.log_metrics({str(k): float(v) for k, v in value.items()})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_table_type(handle: Dataset, wanted: Any) -> Any:
    if not isinstance(wanted, type) or wanted is Dataset:
        return handle
    kind = table_kind(wanted)
    if kind == ("pyarrow", "Table"):
        return handle.to_arrow()
    if kind == ("pandas", "DataFrame"):
        return handle.to_pandas()
    if kind == ("polars", "DataFrame"):
        return handle.to_polars()
    return handle
