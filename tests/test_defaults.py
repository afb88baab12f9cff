"""``sy.datasets``, ``sy.models``, ``sy.gate``: the real services, acting on the client that is default when called."""

from __future__ import annotations

import inspect
import pickle
import rlcompleter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NoReturn, cast
from unittest.mock import Mock

import pyarrow as pa
import pytest

import shipyard as sy
import shipyard.tracking.default
from shipyard import _defaults
from shipyard._defaults import DefaultDatasets, DefaultGate, DefaultModels, public_methods
from shipyard.data.service import Datasets
from shipyard.gates.service import Gate
from shipyard.registry.service import Models
from tests._gate_helpers import bare_version

GATE = '[gate]\ndata = "gate-eval"\n[[gate.checks]]\nkind = "min_rows"\nmin = 1\n'


def test_each_facade_is_an_instance_of_the_real_service() -> None:
    assert isinstance(sy.datasets, Datasets) and isinstance(sy.models, Models) and isinstance(sy.gate, Gate)
    assert public_methods(type(sy.models)) == public_methods(Models)


@pytest.fixture
def no_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[sy.Client]]:
    """No default client yet; the default this test's sy.init calls make is put back afterwards."""
    monkeypatch.setattr(shipyard.tracking.default, "_default", None)
    made: list[sy.Client] = []
    yield made
    for client in made:
        client.close()


def init(tmp_path: Path, name: str, toml: str, made: list[sy.Client]) -> sy.Client:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "shipyard.toml").write_text(toml)
    made.append(sy.init(str(folder / ".shipyard"), cwd=folder, capture_environment=False))
    return made[-1]


def test_after_sy_init_the_facades_act_on_the_new_client(tmp_path: Path, no_default: list[sy.Client]) -> None:
    first = init(tmp_path, "first", GATE, no_default)
    sy.datasets.register("rows", pa.table({"x": [1, 2, 3]}))
    bare_version(first, "churn")
    assert sy.gate.in_force() is not None  # the first store's shipyard.toml has a [gate] table
    init(tmp_path, "second", "[shipyard]\n", no_default)
    with pytest.raises(sy.NotFound, match="rows"):
        sy.datasets.versions("rows")
    with pytest.raises(sy.NotFound, match="churn"):
        sy.models.get("churn")
    assert sy.gate.in_force() is None
    assert [d.name for d in first.datasets.versions("rows")] == ["rows"] and first.models.get("churn").version == 1


def test_the_module_level_search_leaves_deleted_runs_out_unless_asked(
    tmp_path: Path, no_default: list[sy.Client]
) -> None:
    client = init(tmp_path, "store", "", no_default)
    with sy.start_run(project="churn") as kept, sy.start_run(project="churn") as deleted:
        pass
    client.delete_run(deleted.id)
    assert [r.id for r in sy.search_runs(project="churn")] == [kept.id]
    found = sy.search_runs(project="churn", include_deleted=True)
    assert sorted(r.id for r in found) == sorted([kept.id, deleted.id])
    assert [r.deleted for r in found if r.id == deleted.id] == [True]


def test_a_pickled_facade_still_follows_the_default_client(tmp_path: Path, no_default: list[sy.Client]) -> None:
    # What a pipeline step sent to another process carries when it holds on to sy.datasets.
    carried = pickle.loads(pickle.dumps(sy.datasets))
    init(tmp_path, "store", "", no_default)
    carried.register("rows", pa.table({"x": [1]}))
    assert [v.name for v in sy.datasets.versions("rows")] == ["rows"]


def recording(service: type, attribute: str) -> tuple[Mock, list[object], Any]:
    real = Mock(spec=service)
    looked_up: list[object] = []

    def current() -> sy.Client:
        looked_up.append(attribute)
        return cast(sy.Client, SimpleNamespace(**{attribute: real}))

    return real, looked_up, current


@pytest.mark.parametrize(
    ("facade", "service", "attribute"),
    [(DefaultDatasets, Datasets, "datasets"), (DefaultModels, Models, "models")],
)
def test_every_public_method_hands_the_whole_call_on(facade: Any, service: type, attribute: str) -> None:
    real, looked_up, current = recording(service, attribute)
    made = facade(current)
    for name in public_methods(service):
        assert getattr(made, name)("a", 2, key=None) is getattr(real, name).return_value
        getattr(real, name).assert_called_once_with("a", 2, key=None)
    assert len(looked_up) == len(public_methods(service))  # one look-up per call: a call never spans two clients


def test_every_gate_method_runs_on_a_gate_of_the_current_client(monkeypatch: pytest.MonkeyPatch) -> None:
    made_gates = Mock(spec=Gate)
    monkeypatch.setattr(_defaults, "Gate", made_gates)
    clients = iter([object(), object()])
    gate = DefaultGate(lambda: cast(sy.Client, next(clients)))
    assert gate.evaluate("churn@3", data="eval") is made_gates.return_value.evaluate.return_value
    gate.history(project="p")
    first, second = (call.args[0] for call in made_gates.call_args_list)
    assert first is not second
    made_gates.return_value.evaluate.assert_called_once_with("churn@3", data="eval")
    made_gates.return_value.history.assert_called_once_with(project="p")


def test_inspecting_and_completing_a_facade_opens_no_store() -> None:
    def no_client() -> NoReturn:
        pytest.fail("looked up the client")

    models = DefaultModels(no_client)
    assert repr(models) == "<shipyard.models: the model registry of the default client (sy.init(uri) changes it)>"
    completer = rlcompleter.Completer({"models": models})
    assert completer.complete("models.set_al", 0) == "models.set_alias("
    assert "version" in inspect.signature(models.set_alias).parameters and "GateBlocked" in str(
        models.set_alias.__doc__
    )


def test_a_service_attribute_that_is_not_a_method_stops_the_facade_being_built() -> None:
    class Service:
        @property
        def size(self) -> int:
            return 1

    class Facade(_defaults._Follower, Service):
        pass

    with pytest.raises(TypeError, match=r"Service\.size is a property, not a plain method.*shipyard/_defaults\.py"):
        _defaults._following(Service, lambda client: Service())(Facade)
