import pytest

from shipyard.artifacts import check_artifact_path
from shipyard.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("model.pkl", "model.pkl"),
        ("plots/roc.png", "plots/roc.png"),
        ("./a//b", "a/b"),
        ("a/./b/", "a/b"),
        ("..hidden/x..y", "..hidden/x..y"),
        ("with space/é.txt", "with space/é.txt"),
        ("ünï/😀.txt", "ünï/😀.txt"),
        ("/".join(["d" * 200] * 5 + ["x" * 19]), "/".join(["d" * 200] * 5 + ["x" * 19])),  # 1,024 characters
        ("é" * 127 + "x", "é" * 127 + "x"),  # 255 bytes in UTF-8
    ],
)
def test_accepts_relative_paths_in_canonical_form(path: str, canonical: str) -> None:
    assert check_artifact_path(path) == canonical


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("../x", r"'\.\.' segment"),
        ("a/../../b", r"'\.\.' segment"),
        ("a/..", r"'\.\.' segment"),
        ("/etc/passwd", "absolute"),
        ("C:/Windows", "absolute"),
        ("a\x00b", r"control character '\\x00' at position 1"),
        ("a\nb", "control character"),
        ("a\x7fb", "control character"),
        ("a\\b", "backslash"),
        ("", "names no file"),
        ("./", "names no file"),
    ],
)
def test_rejects_paths_that_could_escape_or_are_ambiguous(path: str, rule: str) -> None:
    with pytest.raises(InvalidInput, match=rule) as raised:
        check_artifact_path(path)
    assert repr(path) in str(raised.value)


def test_rejects_non_strings() -> None:
    with pytest.raises(InvalidInput, match="must be a string; got bytes"):
        check_artifact_path(b"a/b")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("a/" * 2000 + "x", "is 4,001 characters long; the limit is 1,024"),
        ("./" + "/".join(["d" * 200] * 5 + ["x" * 20]), "is 1,025 characters long"),
        ("plots/" + "é" * 128, "has a name of 256 bytes .*; names are limited to 255 bytes"),
    ],
)
def test_rejects_paths_too_long_to_download(path: str, rule: str) -> None:
    with pytest.raises(InvalidInput, match=rule) as raised:
        check_artifact_path(path)
    assert len(str(raised.value)) < 400  # the path is shortened in the message
