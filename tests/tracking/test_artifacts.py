from pathlib import Path

import pytest

import shipyard as sy


def test_files_and_folders_are_logged_and_read_back(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "roc.png").write_bytes(b"\x89PNG fake")
    reports = tmp_path / "reports"
    (reports / "deep").mkdir(parents=True)
    (reports / "a.html").write_text("<p>a</p>")
    (reports / "deep" / "b.txt").write_text("b")
    with client.start_run() as run:
        run.log_artifact(tmp_path / "roc.png")
        run.log_artifact(reports)
    paths = [a.path for a in client.list_artifacts(run.id)]
    assert paths == ["reports/a.html", "reports/deep/b.txt", "roc.png"]
    assert client.read_artifact(run.id, "reports/deep/b.txt") == b"b"


def test_a_folder_downloads_with_its_layout(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "out" / "x").mkdir(parents=True)
    (tmp_path / "out" / "x" / "f.txt").write_text("hello")
    with client.start_run() as run:
        run.log_artifact(tmp_path / "out", artifact_path="results")
    target = client.download_artifacts(run.id, "results", tmp_path / "dl")
    assert (target / "x" / "f.txt").read_text() == "hello"


def test_identical_files_share_one_blob(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("same")
    with client.start_run() as one, client.start_run() as two:
        first = one.log_artifact(tmp_path / "a.txt")
        second = two.log_artifact(tmp_path / "a.txt", artifact_path="copy.txt")
    assert first[0].digest == second[0].digest
    assert len(list(client.backend.blobs.iter_blobs())) == 1


@pytest.mark.parametrize("bad", ["../escape.txt", "/abs.txt", "a/../../b", "nul\x00.txt"])
def test_escaping_artifact_paths_are_rejected_before_anything_is_stored(
    client: sy.Client, tmp_path: Path, bad: str
) -> None:
    (tmp_path / "f.txt").write_text("x")
    with client.start_run() as run, pytest.raises(sy.InvalidInput):
        run.log_artifact(tmp_path / "f.txt", artifact_path=bad)
    assert client.list_artifacts(run.id) == []
    assert list(client.backend.blobs.iter_blobs()) == []


def test_a_missing_local_file_is_not_found(client: sy.Client, tmp_path: Path) -> None:
    with client.start_run() as run, pytest.raises(sy.NotFound, match="no such file"):
        run.log_artifact(tmp_path / "nope.png")


@pytest.mark.parametrize("link", ["link.txt", "linkdir"])
def test_a_symlink_leading_out_of_a_logged_folder_is_refused_and_nothing_is_stored(
    client: sy.Client, tmp_path: Path, link: str
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "leak").mkdir()
    (tmp_path / "leak" / "a.txt").write_text("a")
    target = tmp_path / "outside" / ("secret.txt" if link == "link.txt" else "")
    (tmp_path / "leak" / link).symlink_to(target)
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match=f"'{link}' is a symbolic link to .*outside"):
        run.log_artifact(tmp_path / "leak")
    assert client.list_artifacts(run.id) == []
    assert list(client.backend.blobs.iter_blobs()) == []


def test_symlinks_inside_a_logged_folder_are_followed(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "out" / "sub").mkdir(parents=True)
    (tmp_path / "out" / "sub" / "x.txt").write_text("x")
    (tmp_path / "out" / "alias.txt").symlink_to("sub/x.txt")
    (tmp_path / "out" / "again").symlink_to("sub")
    with client.start_run() as run:
        run.log_artifact(tmp_path / "out")
    assert [a.path for a in client.list_artifacts(run.id)] == ["out/again/x.txt", "out/alias.txt", "out/sub/x.txt"]


@pytest.mark.parametrize("bad", [None, 3, b"bytes.txt"])
def test_log_artifact_of_something_not_a_path_is_invalid_input(client: sy.Client, bad: object) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match=r"'local_path' parameter .* Got"):
        run.log_artifact(bad)  # type: ignore[arg-type]


@pytest.mark.local_only("damages a blob in the local artifact folder; over HTTP the blobs are the server's")
def test_an_altered_blob_raises_corrupt_artifact(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights" * 100)
    with client.start_run() as run:
        [logged] = run.log_artifact(tmp_path / "model.bin")
    hex_digest = logged.digest.split(":")[1]
    blob = Path(client.settings.artifacts) / "blobs" / hex_digest[:2] / hex_digest
    blob.write_bytes(b"weights" * 99)
    with pytest.raises(sy.CorruptArtifact):
        client.read_artifact(run.id, "model.bin")
    with pytest.raises(sy.CorruptArtifact):
        client.download_artifacts(run.id, "model.bin", tmp_path / "dl")
    assert not (tmp_path / "dl" / "model.bin").exists()


def _damage(client: sy.Client, digest: str) -> None:
    """Flip one byte of a stored blob, keeping its size."""
    hex_digest = digest.split(":")[1]
    blob = Path(client.settings.artifacts) / "blobs" / hex_digest[:2] / hex_digest
    data = blob.read_bytes()
    blob.write_bytes(bytes([data[0] ^ 1]) + data[1:])


@pytest.mark.local_only("damages a blob in the local artifact folder; over HTTP the blobs are the server's")
def test_a_folder_download_that_fails_leaves_the_destination_untouched(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "a.txt").write_text("new a")
    (tmp_path / "rep" / "b.txt").write_text("new b")
    with client.start_run() as run:
        logged = run.log_artifact(tmp_path / "rep")
    _damage(client, logged[1].digest)
    (tmp_path / "out" / "rep").mkdir(parents=True)
    (tmp_path / "out" / "rep" / "a.txt").write_text("PREVIOUS")
    with pytest.raises(sy.CorruptArtifact):
        client.download_artifacts(run.id, "rep", tmp_path / "out")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "out").rglob("*")) == [
        "out/rep",
        "out/rep/a.txt",
    ]
    assert (tmp_path / "out" / "rep" / "a.txt").read_text() == "PREVIOUS"
    with pytest.raises(sy.CorruptArtifact):
        client.download_artifacts(run.id, "rep", tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_a_download_refuses_a_folder_in_the_way_and_changes_nothing(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "a.txt").write_text("a")
    (tmp_path / "rep" / "b.txt").write_text("b")
    with client.start_run() as run:
        run.log_artifact(tmp_path / "rep")
    (tmp_path / "out" / "rep" / "b.txt").mkdir(parents=True)
    with pytest.raises(sy.InvalidInput, match=r"rep/b\.txt is a folder in the way"):
        client.download_artifacts(run.id, "rep", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out" / "rep").iterdir()) == ["b.txt"]


def test_gc_keeps_referenced_blobs_and_purges_deleted_runs(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("keep")
    (tmp_path / "drop.txt").write_text("drop")
    with client.start_run() as kept, client.start_run() as dropped:
        kept.log_artifact(tmp_path / "keep.txt")
        dropped.log_artifact(tmp_path / "drop.txt")
    client.delete_run(dropped.id)
    assert client.gc(grace=3600).removed == []  # inside the grace period nothing goes
    report = client.gc(grace=0)
    assert len(report.removed) == 1
    assert client.read_artifact(kept.id, "keep.txt") == b"keep"
    with pytest.raises(sy.NotFound):
        client.get_run(dropped.id)


def test_a_dry_run_counts_deleted_runs_and_their_blobs_and_removes_nothing(client: sy.Client, tmp_path: Path) -> None:
    (tmp_path / "drop.txt").write_text("drop")
    with client.start_run() as dropped:
        dropped.log_artifact(tmp_path / "drop.txt")
    client.delete_run(dropped.id)
    report = client.gc(grace=0, dry_run=True)
    assert (report.purged_runs, len(report.removed)) == ([dropped.id], 1)
    assert client.get_run(dropped.id).deleted
    assert client.read_artifact(dropped.id, "drop.txt") == b"drop"


def test_a_negative_grace_is_invalid_input(client: sy.Client) -> None:
    with pytest.raises(sy.InvalidInput, match="grace"):
        client.gc(grace=-1)


def test_gc_refuses_to_run_when_the_metadata_store_records_nothing_but_blobs_exist(client: sy.Client) -> None:
    assert client.gc(grace=0).removed == []  # a fresh store: nothing recorded, nothing stored, nothing refused
    digest, _ = client.backend.blobs.put_bytes(b"an artifact of a run the lost database knew")
    for dry_run in (True, False):
        with pytest.raises(sy.StoreError, match=r"gc refused: .* records nothing .* restore shipyard\.db"):
            client.gc(grace=0, dry_run=dry_run)
    assert client.backend.blobs.exists(digest)
