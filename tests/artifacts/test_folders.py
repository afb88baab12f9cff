import os
from pathlib import Path

import pytest

from shipyard.artifacts.folders import folder_files
from shipyard.core.errors import InvalidInput


def test_lists_every_file_below_the_folder_sorted_by_relative_path(tmp_path: Path) -> None:
    (tmp_path / "b" / "c").mkdir(parents=True)
    for name in ("z.txt", "b/y.txt", "b/c/x.txt"):
        (tmp_path / name).write_text(name)
    assert [relative for _, relative in folder_files(tmp_path)] == ["b/c/x.txt", "b/y.txt", "z.txt"]
    assert all(path.read_text() == relative for path, relative in folder_files(tmp_path))


@pytest.mark.parametrize(
    ("target", "problem"),
    [("../secret.txt", "outside the folder"), ("../", "outside the folder"), ("gone.txt", "which does not exist")],
)
def test_refuses_links_that_lead_out_of_the_folder_or_nowhere(tmp_path: Path, target: str, problem: str) -> None:
    (tmp_path / "secret.txt").write_text("key")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "link").symlink_to(target)
    with pytest.raises(InvalidInput, match=f"'link' is a symbolic link to '{tmp_path}.*', {problem}"):
        folder_files(tmp_path / "run")


def test_refuses_a_link_to_a_folder_that_contains_it(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "loop").symlink_to("..")
    with pytest.raises(InvalidInput, match=r"'a/loop' is a symbolic link .* would repeat forever"):
        folder_files(tmp_path)


def test_follows_the_folder_itself_given_as_a_link_and_skips_fifos(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f.txt").write_text("f")
    os.mkfifo(tmp_path / "real" / "pipe")
    (tmp_path / "alias").symlink_to("real")
    assert [relative for _, relative in folder_files(tmp_path / "alias")] == ["f.txt"]
