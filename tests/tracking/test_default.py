"""The process's default client (``shipyard.tracking.default``): made on first use, then replaced at will."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.tracking import Client, default


@pytest.fixture
def no_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setattr(default, "_default", None)
    monkeypatch.setenv("SHIPYARD_URI", str(tmp_path / "store"))
    yield
    if default._default is not None:
        default._default.close()


def test_the_default_client_is_made_once_from_the_settings(no_default: None, tmp_path: Path) -> None:
    made = default.default_client()
    assert made is default.default_client()
    assert made.settings.uri == str(tmp_path / "store")


def test_set_default_client_replaces_it(no_default: None, tmp_path: Path) -> None:
    other = Client(str(tmp_path / "other"))
    default.set_default_client(other)
    assert default.default_client() is other
