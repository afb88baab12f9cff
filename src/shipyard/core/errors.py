"""The exception hierarchy. Every error says what was wrong and what to do.

    ShipyardError                       exit 2   http 500
    ├── NotFound (LookupError)          exit 2   http 404
    ├── AlreadyExists                   exit 2   http 409
    ├── InvalidInput (ValueError)       exit 2   http 400
    │   └── FilterSyntaxError           exit 2   http 400
    ├── Conflict                        exit 2   http 409
    ├── GateBlocked                     exit 1   http 403
    ├── PermissionDenied                exit 2   http 403
    ├── CorruptArtifact                 exit 2   http 500
    ├── StoreError                      exit 2   http 503
    │   └── SchemaOutdated              exit 2   http 503
    └── MissingDependency (ImportError) exit 2   http 500
    any other exception                 exit 3   http 500   an internal error (a bug), never a verdict

The CLI and the server each translate these to exit codes and HTTP statuses in exactly one place,
using the ``exit_code`` and ``http_status`` class attributes. CLI exit codes: 0 ok, 1 a check or gate
failed, 2 a usage or input error, 3 an internal error.
"""

from __future__ import annotations


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose."""

    exit_code: int = 2
    http_status: int = 500


class NotFound(ShipyardError, LookupError):
    """A named thing (run, project, artifact, …) does not exist."""

    http_status = 404


class AlreadyExists(ShipyardError):
    """Creating something whose name is taken."""

    http_status = 409


class InvalidInput(ShipyardError, ValueError):
    """A value given by the user is malformed or out of range."""

    http_status = 400


class FilterSyntaxError(InvalidInput):
    """A search filter could not be parsed; ``column`` is 1-based."""

    def __init__(self, message: str, *, text: str, column: int) -> None:
        pointer = " " * (column - 1) + "^"
        super().__init__(f"{message} at column {column}:\n  {text}\n  {pointer}")
        self.text = text
        self.column = column


class Conflict(ShipyardError):
    """The request contradicts the current state (e.g. changing a logged param, writing to a finished run)."""

    http_status = 409


class GateBlocked(ShipyardError):
    """A protected alias was requested for a version without a passing verdict."""

    exit_code = 1
    http_status = 403


class PermissionDenied(ShipyardError, PermissionError):
    """The caller's role does not allow the operation."""

    http_status = 403


class CorruptArtifact(ShipyardError):
    """A stored blob's bytes no longer match its digest."""

    http_status = 500


class StoreError(ShipyardError):
    """The metadata store could not be reached or used."""

    http_status = 503


class SchemaOutdated(StoreError):
    """The metadata store's schema is older or newer than this version of Shipyard expects."""


class MissingDependency(ShipyardError, ImportError):
    """An optional dependency is needed; the message names the ``pip install`` line."""

    @classmethod
    def for_extra(cls, package: str, extra: str, purpose: str) -> MissingDependency:
        return cls(
            f"{purpose} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'shipyard[{extra}]'"
        )
