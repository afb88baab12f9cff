"""Blobs through the backend (content-addressed, verified, collected), the backend's own methods, and a check
that this suite calls every method of the protocol."""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path

import pytest

from shipyard.backends import Backend, protocol
from shipyard.core.digests import digest_bytes
from shipyard.core.errors import InvalidInput, NotFound
from tests.backends.conformance.conftest import server_of


def test_bytes_and_files_are_stored_under_their_digest_once(backend: Backend, tmp_path: Path) -> None:
    digest, size = backend.blobs.put_bytes(b"hello")
    assert (digest, size) == (digest_bytes(b"hello"), 5)
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello")
    assert backend.blobs.put_file(source) == (digest, 5) and source.exists()
    assert backend.blobs.exists(digest) and backend.blobs.size(digest) == 5
    assert backend.blobs.read_bytes(digest) == b"hello"
    assert [d for d, _, _ in backend.blobs.iter_blobs()] == [digest]


def test_an_adopted_file_is_taken_away(backend: Backend, tmp_path: Path) -> None:
    scratch = backend.blobs.scratch_dir()  # where a file is moved in whole; None for a store elsewhere
    folder = scratch if scratch is not None else tmp_path
    made = folder / "out.parquet"
    made.write_bytes(b"table")
    assert backend.blobs.adopt_file(made) == (digest_bytes(b"table"), 5)
    assert not made.exists() and backend.blobs.read_bytes(digest_bytes(b"table")) == b"table"


def test_a_download_lands_verified_in_place(backend: Backend, tmp_path: Path) -> None:
    digest, _ = backend.blobs.put_bytes(b"weights")
    target = tmp_path / "deep" / "model.bin"
    backend.blobs.download(digest, target)
    assert target.read_bytes() == b"weights"


def test_a_missing_blob_is_not_found_and_a_malformed_digest_is_refused(backend: Backend, tmp_path: Path) -> None:
    missing = digest_bytes(b"never stored")
    assert not backend.blobs.exists(missing)
    for read in (
        lambda: backend.blobs.size(missing),
        lambda: backend.blobs.read_bytes(missing),
        lambda: backend.blobs.download(missing, tmp_path / "x"),
    ):
        with pytest.raises(NotFound):
            read()
    assert not (tmp_path / "x").exists()
    with pytest.raises(InvalidInput):
        backend.blobs.read_bytes("sha256:not-hex")


def test_gc_removes_only_unreferenced_blobs_past_the_grace_period(backend: Backend) -> None:
    kept, _ = backend.blobs.put_bytes(b"kept")
    dropped, _ = backend.blobs.put_bytes(b"dropped")
    assert backend.blobs.gc({kept}, grace_seconds=3600).removed == []  # both are younger than an hour
    preview = backend.blobs.gc({kept}, grace_seconds=0, now=2**40, dry_run=True)
    assert preview.removed == [dropped] and backend.blobs.exists(dropped)
    report = backend.blobs.gc({kept}, grace_seconds=0, now=2**40)
    assert (report.removed, report.kept) == ([dropped], 1)
    assert not backend.blobs.exists(dropped) and backend.blobs.exists(kept)
    assert backend.blobs.url


def test_the_backend_names_where_its_metadata_lives(backend: Backend, tmp_path: Path) -> None:
    location, server = backend.metadata_location, server_of(backend)
    if server is not None:  # a client knows the server, not the server's database
        assert location == server.url
        return
    assert location == f"sqlite:///{tmp_path / '.shipyard' / 'shipyard.db'}" or location.startswith("postgresql")


def test_after_fork_a_child_process_reconnects_and_still_answers(backend: Backend) -> None:
    backend.store.create_run("r1", project="default", name="run")
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            backend.after_fork()
            code = 0 if backend.store.get_run("r1").id == "r1" else 3
        finally:
            os._exit(code)  # leaves the parent's connections alone
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert backend.store.get_run("r1").id == "r1"  # the parent's connections still work


def test_closing_twice_is_harmless(backend: Backend) -> None:
    backend.close()
    backend.close()


# the suite covers the protocol ---------------------------------------------------------------------------


def called_methods() -> set[tuple[str, str]]:
    """Every ``backend.<part>.<method>`` this suite names, calls or not (a lambda, a helper, a property)."""
    found = set()
    for path in Path(__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "backend"
            ):
                found.add((node.value.attr, node.attr))
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "backend":
                found.add(("", node.attr))
    return found


def protocol_methods() -> set[tuple[str, str]]:
    parts = {
        name: inspect.get_annotations(member.fget, eval_str=True)["return"]
        for name, member in vars(protocol.Backend).items()
        if isinstance(member, property) and name != "metadata_location"
    }
    wanted = {("", name) for name in vars(protocol.Backend) if not name.startswith("_")}
    for part, cls in parts.items():
        wanted |= {(part, name) for name in vars(cls) if not name.startswith("_")}
    return wanted


def test_every_protocol_method_is_exercised_by_this_suite() -> None:
    assert protocol_methods() - called_methods() == set()
