from pathlib import Path

import pytest

import shipyard as sy
from shipyard.backends.local import resolve
from shipyard.core.config import Settings


def where(tmp_path: Path, uri: str, artifacts: str = "") -> tuple[str, str]:
    found = resolve(Settings.load(cwd=tmp_path, environ={}, uri=uri, artifacts=artifacts or None))
    return found.database, found.artifacts


def test_a_folder_holds_the_database_and_the_blobs(tmp_path: Path) -> None:
    assert where(tmp_path, "store") == (
        f"sqlite:///{tmp_path.resolve() / 'store' / 'shipyard.db'}",
        str(tmp_path.resolve() / "store" / "artifacts"),
    )


def test_a_file_url_is_a_folder(tmp_path: Path) -> None:
    assert where(tmp_path, f"file://{tmp_path}/s")[0] == f"sqlite:///{tmp_path}/s/shipyard.db"


def test_a_sqlite_url_keeps_blobs_beside_the_database(tmp_path: Path) -> None:
    assert where(tmp_path, f"sqlite:///{tmp_path}/m.db") == (f"sqlite:///{tmp_path}/m.db", f"{tmp_path}/artifacts")


def test_postgres_needs_an_artifact_store(tmp_path: Path) -> None:
    with pytest.raises(sy.InvalidInput, match="SHIPYARD_ARTIFACTS"):
        where(tmp_path, "postgresql+psycopg://u@h/db")
    assert where(tmp_path, "postgresql+psycopg://u@h/db", "s3://b/p") == ("postgresql+psycopg://u@h/db", "s3://b/p")


@pytest.mark.parametrize(("uri", "message"), [("http://host:5000", "server"), ("mysql://h/db", "Unsupported")])
def test_unsupported_uris_say_what_is_supported(tmp_path: Path, uri: str, message: str) -> None:
    with pytest.raises(sy.InvalidInput, match=message):
        where(tmp_path, uri)
