"""The objects behind ``sy.datasets``, ``sy.models`` and ``sy.gate``: the default client's services, typed.

Each is an instance of a subclass of the real service (``Datasets``, ``Models``, ``Gate``), so mypy, pyright,
IPython and ``help()`` see the real methods with their signatures, return types and docstrings. A call is
handed whole to the same method of the default client's service as it is at that moment: after
``sy.init(other)`` the next call acts on ``other``, and no call spans two clients (a service that read its
store attribute by attribute could start on one and finish on the other).

Only public methods are handed on, and the subclass is built from the service class, so a method added to
the service is on the facade too; a public attribute that is not a plain method stops the import with an
error rather than silently missing from the facade. (A ``__getattr__`` proxy would be ``Any`` to a type
checker and empty to a completer; a hand-written subclass would repeat every signature.)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from shipyard.data.service import Datasets
from shipyard.gates.service import Gate
from shipyard.registry.service import Models
from shipyard.tracking.client import Client

CurrentClient = Callable[[], Client]
"""What a facade asks for the client to act on: ``shipyard._client``, which makes the default one on first use."""

_Facade = TypeVar("_Facade", bound="_Follower")


def public_methods(cls: type) -> list[str]:
    """The names of ``cls``'s public methods, sorted: what a facade of ``cls`` hands on."""
    return sorted(name for name in dir(cls) if not name.startswith("_"))


class _Follower:
    """Hands each public method call to ``_service()``, the real service of the client ``current()`` returns."""

    _reach: Callable[[Client], Any]
    """How to get the service from a client; set by ``_following``."""

    def __init__(self, current: CurrentClient) -> None:
        # The real service's __init__ is not called on purpose: a facade holds no store of its own.
        self._current = current

    def _service(self) -> Any:
        return type(self)._reach(self._current())

    def __repr__(self) -> str:
        return f"<{self._label}: {self._what} of the default client (sy.init(uri) changes it)>"

    _label = ""
    _what = ""


def _hand_on(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)  # keeps the docstring, and the signature inspect.signature reports
    def handed_on(self: _Follower, /, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._service(), name)(*args, **kwargs)

    return handed_on


def _following(service: type, reach: Callable[[Client], Any]) -> Callable[[type[_Facade]], type[_Facade]]:
    """Give the decorated facade every public method of ``service``, each handed on to ``reach(current client)``."""

    def build(facade: type[_Facade]) -> type[_Facade]:
        facade._reach = staticmethod(reach)
        for name in public_methods(service):
            member = inspect.getattr_static(service, name)
            if not inspect.isfunction(member):
                raise TypeError(
                    f"{service.__name__}.{name} is a {type(member).__name__}, not a plain method, so the facade "
                    f"{facade.__name__} cannot hand it on to the default client; add it to shipyard/_defaults.py."
                )
            setattr(facade, name, _hand_on(name, member))
        return facade

    return build


@_following(Datasets, lambda client: client.datasets)
class DefaultDatasets(_Follower, Datasets):
    """``sy.datasets``: the dataset versions of the default client (``client.datasets`` of another client).

    >>> train = sy.datasets.register("churn-train", df)   # pandas, polars, Arrow, a Parquet/CSV path
    >>> sy.datasets.get("churn-train@1").digest
    >>> sy.datasets.load("churn-train")                   # a pyarrow.Table, digest-verified

    Each call acts on the client that is the default at that moment (see ``sy.init``).
    """

    _label = "shipyard.datasets"
    _what = "the dataset versions"


@_following(Models, lambda client: client.models)
class DefaultModels(_Follower, Models):
    """``sy.models``: the model registry of the default client (``client.models`` of another client).

    >>> sy.models.get("churn@champion").version
    >>> sy.models.set_alias("churn", 3, "champion")      # GateBlocked without a passing verdict
    >>> model = sy.models.load("churn@champion")         # every file's digest verified

    Each call acts on the client that is the default at that moment (see ``sy.init``). To save or load
    one model's files without a registry, use ``shipyard.packaging``.
    """

    _label = "shipyard.models"
    _what = "the model registry"


@_following(Gate, lambda client: Gate(client))
class DefaultGate(_Follower, Gate):
    """``sy.gate``: the release gate of the default client (``shipyard.gates.Gate(client)`` for another).

    >>> verdict = sy.gate.evaluate("churn@7")          # the policy in force, on the data it requires
    >>> verdict.passed, [c.name for c in verdict.failed]
    >>> sy.gate.decision("churn@7").allowed            # may it take a protected alias now?

    Each call acts on the client that is the default at that moment (see ``sy.init``).
    """

    _label = "shipyard.gate"
    _what = "the release gate"


__all__ = ["CurrentClient", "DefaultDatasets", "DefaultGate", "DefaultModels", "public_methods"]
