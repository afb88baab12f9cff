"""The exception hierarchy: the one table of CLI exit codes, HTTP statuses and machine codes.

Every error says what was wrong and what to do. Each class carries ``exit_code`` (the CLI's), ``http_status``
(a server's) and ``code``, the stable machine string of JSON error bodies (``{"error": code, "message": …}``).

    class                                   exit  http  code
    ShipyardError                           2     500   error
    ├── NotFound (LookupError)              2     404   not_found
    ├── AlreadyExists                       2     409   already_exists
    ├── InvalidInput (ValueError)           2     422   invalid_input
    │   ├── FilterSyntaxError               2     422   invalid_filter
    │   ├── MalformedRequest                2     400   malformed_body
    │   │   ├── MalformedJson               2     400   malformed_json
    │   │   └── MalformedQuery              2     400   malformed_query
    │   ├── MethodNotAllowed                2     405   method_not_allowed
    │   ├── PayloadTooLarge                 2     413   payload_too_large
    │   └── UnsupportedMediaType            2     415   unsupported_media_type
    ├── Conflict                            2     409   conflict
    ├── GateBlocked                         1     403   gate_blocked
    ├── Unauthenticated                     2     401   unauthenticated
    ├── PermissionDenied                    2     403   permission_denied
    ├── TooManyAttempts                     2     429   too_many_attempts
    ├── CorruptArtifact                     2     500   corrupt_artifact
    ├── ModelFailed                         2     500   model_error
    ├── StoreError                          2     503   store_unavailable
    │   └── SchemaOutdated                  2     503   schema_outdated
    ├── Overloaded                          2     503   overloaded
    │   └── FeedbackQueueFull               2     503   feedback_queue_full
    └── MissingDependency (ImportError)     2     500   missing_dependency
    any other exception                     3     500   internal_error   a bug, never a verdict

One rule decides between 400 and 422: a request the server cannot read as a request (a body that is not
JSON, not an object of the expected shape, not a readable Arrow or Parquet table, a query flag that is no
boolean) is ``MalformedRequest``, 400; a request it can read whose values are wrong (a missing column, a
value of the wrong type, too many rows, an unknown filter field) is ``InvalidInput``, 422. Subclasses
elsewhere inherit their row (``RequestInvalid`` and ``SignatureMismatch`` are ``InvalidInput``, 422).

The CLI (``shipyard.cli.main.describe``) and serving (``shipyard.serving.errors.error_answer``) each
translate exceptions in exactly one function, reading these attributes; only an exception that is not a
``ShipyardError`` becomes exit 3 / HTTP 500 ``internal_error``, and its details stay in the log. CLI exit
codes: 0 ok, 1 a check or gate failed, 2 a usage or input error, 3 an internal error.
"""

from __future__ import annotations

from typing import Any

INTERNAL_ERROR = "internal_error"
"""The machine code of an exception that is not a ``ShipyardError`` (a bug)."""


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose."""

    exit_code: int = 2
    http_status: int = 500
    code: str = "error"

    @property
    def details(self) -> dict[str, Any]:
        """Fields for machines beside the message (``problems``, …); JSON error bodies carry them."""
        return {}


class NotFound(ShipyardError, LookupError):
    """A named thing (run, project, artifact, …) does not exist."""

    http_status = 404
    code = "not_found"


class AlreadyExists(ShipyardError):
    """Creating something whose name is taken."""

    http_status = 409
    code = "already_exists"


class InvalidInput(ShipyardError, ValueError):
    """A value given by the user is malformed or out of range (a readable request with wrong values)."""

    http_status = 422
    code = "invalid_input"


class FilterSyntaxError(InvalidInput):
    """A search filter could not be parsed; ``column`` is 1-based."""

    code = "invalid_filter"

    def __init__(self, message: str, *, text: str, column: int) -> None:
        pointer = " " * (column - 1) + "^"
        super().__init__(f"{message} at column {column}:\n  {text}\n  {pointer}")
        self.text = text
        self.column = column

    @property
    def details(self) -> dict[str, Any]:
        return {"text": self.text, "column": self.column}


class MalformedRequest(InvalidInput):
    """A request that cannot be read as one: its body is not of the expected shape or format."""

    http_status = 400
    code = "malformed_body"


class MalformedJson(MalformedRequest):
    """A body sent as JSON that does not parse."""

    code = "malformed_json"


class MalformedQuery(MalformedRequest):
    """A query string whose parameters cannot be read."""

    code = "malformed_query"


class MethodNotAllowed(InvalidInput):
    """An HTTP method the route does not answer; ``allowed`` lists the ones it does."""

    http_status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, *, allowed: tuple[str, ...] = ("POST",)) -> None:
        super().__init__(message)
        self.allowed = allowed


class PayloadTooLarge(InvalidInput):
    """A request body over the server's limit."""

    http_status = 413
    code = "payload_too_large"


class UnsupportedMediaType(InvalidInput):
    """A request body of a content type the route does not take."""

    http_status = 415
    code = "unsupported_media_type"


class Conflict(ShipyardError):
    """The request contradicts the current state (e.g. changing a logged param, writing to a finished run)."""

    http_status = 409
    code = "conflict"


class GateBlocked(ShipyardError):
    """A protected alias was requested for a version without a passing verdict."""

    exit_code = 1
    http_status = 403
    code = "gate_blocked"


class Unauthenticated(ShipyardError):
    """The caller did not prove who they are: no API token, or one that is unknown, revoked or expired, a
    disabled user, or a wrong user name or password. The message never repeats the secret."""

    http_status = 401
    code = "unauthenticated"


class PermissionDenied(ShipyardError):
    """The caller's role (or the model's format) does not allow the operation.

    Not an ``OSError``: no file system refused anything, and ``except OSError`` around file handling must
    not swallow it.
    """

    http_status = 403
    code = "permission_denied"


class TooManyAttempts(ShipyardError):
    """Too many failed logins for one user name in a short time; ``retry_after`` seconds is when to try again."""

    http_status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def details(self) -> dict[str, Any]:
        return {} if self.retry_after is None else {"retry_after": self.retry_after}


class CorruptArtifact(ShipyardError):
    """A stored blob's bytes no longer match its digest."""

    http_status = 500
    code = "corrupt_artifact"


class ModelFailed(ShipyardError):
    """A model failed, not the request: a served model raised on input that fits its signature, or a gate
    run's process died under it."""

    http_status = 500
    code = "model_error"


class StoreError(ShipyardError):
    """The metadata store could not be reached or used."""

    http_status = 503
    code = "store_unavailable"


class SchemaOutdated(StoreError):
    """The metadata store's schema is older or newer than this version of Shipyard expects."""

    code = "schema_outdated"


class Overloaded(ShipyardError):
    """The server has no room for the request now; ``retry_after`` seconds is when to send it again."""

    http_status = 503
    code = "overloaded"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FeedbackQueueFull(Overloaded):
    """A served model's feedback queue cannot take a whole ``/feedback`` request; none of it was kept."""

    code = "feedback_queue_full"


class MissingDependency(ShipyardError, ImportError):
    """An optional dependency is needed; the message names the ``pip install`` line."""

    code = "missing_dependency"

    @classmethod
    def for_extra(cls, package: str, extra: str, purpose: str) -> MissingDependency:
        return cls(
            f"{purpose} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'shipyard[{extra}]'"
        )
