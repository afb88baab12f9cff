"""The error table: every ``ShipyardError`` reaches the CLI and serving with the exit code, status and code it
declares, through the one function each has, and the table drawn in ``core/errors.py`` is the classes' own."""

from __future__ import annotations

import re

import pytest

import shipyard.pipelines.definition  # these define subclasses, seen once imported
import shipyard.pipelines.loader
import shipyard.pipelines.worker
from shipyard.cli.main import describe
from shipyard.core import errors
from shipyard.core.errors import FilterSyntaxError, ShipyardError
from shipyard.packaging import _portability
from shipyard.packaging.signature import ColumnSpec, Signature, SignatureMismatch
from shipyard.serving.errors import INTERNAL_MESSAGE, error_answer
from shipyard.serving.validation import FeedbackInvalid, RequestInvalid


def _every_subclass(cls: type[ShipyardError]) -> list[type[ShipyardError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_every_subclass(sub))
    return found


def _instance(cls: type[ShipyardError]) -> ShipyardError:
    """One error of ``cls``, built as its raisers build it."""
    if issubclass(cls, FilterSyntaxError):
        return cls("Unexpected 'x'", text="a x", column=3)
    if issubclass(cls, SignatureMismatch):
        return cls({"tenure": "is missing"}, Signature(inputs=[ColumnSpec("tenure", "float")]))
    if issubclass(cls, RequestInvalid | FeedbackInvalid):
        return cls([{"row": 0, "item": 0, "field": "tenure", "problem": "is missing"}])
    return cls("What was wrong; what to do.")


EVERY = sorted({*_every_subclass(ShipyardError)}, key=lambda cls: cls.__qualname__)


def test_the_subclasses_of_other_modules_are_seen() -> None:
    assert {RequestInvalid, FeedbackInvalid, SignatureMismatch, _portability.UnloadableModel} <= set(EVERY)
    assert shipyard.pipelines.loader.PipelineImportError in EVERY and len(EVERY) > 25


@pytest.mark.parametrize("cls", EVERY, ids=lambda cls: cls.__qualname__)
def test_every_error_maps_to_its_exit_code_and_its_status(cls: type[ShipyardError]) -> None:
    error = _instance(cls)
    assert describe(error) == (str(error), cls.exit_code)
    answer = error_answer(error, "req-1")
    assert answer.status == cls.http_status and cls.exit_code in (1, 2)
    assert answer.body == {"error": cls.code, "message": str(error), **error.details, "request_id": "req-1"}


@pytest.mark.parametrize("raised", [RuntimeError("a bug in /srv/x.py"), KeyError("k"), OSError("no")])
def test_anything_else_is_exit_3_and_a_500_that_names_nothing(raised: Exception) -> None:
    message, code = describe(raised)
    assert code == 3 and message.startswith(f"internal error: {type(raised).__name__}") and "--debug" in message
    answer = error_answer(raised)
    assert (answer.status, answer.body) == (500, {"error": "internal_error", "message": INTERNAL_MESSAGE})


def _drawn_table() -> dict[str, tuple[int, int, str]]:
    assert errors.__doc__ is not None
    rows = re.findall(r"^\s+[│├└─ ]*(\w+)(?: \(\w+\))?\s+(\d)\s+(\d{3})\s+(\w+)\s*$", errors.__doc__, re.MULTILINE)
    return {name: (int(exit_code), int(status), code) for name, exit_code, status, code in rows}


def test_the_table_in_the_module_docstring_is_the_classes_own() -> None:
    declared = {
        name: (cls.exit_code, cls.http_status, cls.code)
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, ShipyardError)
    }
    assert _drawn_table() == declared


def test_the_core_codes_are_distinct_snake_case_words() -> None:
    core = [cls for cls in EVERY if cls.__module__ == errors.__name__]
    assert len({cls.code for cls in core}) == len(core)
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.code) for cls in core)


def test_permission_denied_is_no_os_error() -> None:
    assert not issubclass(errors.PermissionDenied, OSError)
    assert describe(errors.PermissionDenied("Not allowed.")) == ("Not allowed.", 2)


def test_too_many_attempts_says_when_to_try_again() -> None:
    error = errors.TooManyAttempts("Too many failed logins; try again in 30 s.", retry_after=30)
    assert (error.http_status, error.details) == (429, {"retry_after": 30})
    assert error_answer(error).body["retry_after"] == 30
    assert describe(errors.Unauthenticated("Unknown token.")) == ("Unknown token.", 2)
