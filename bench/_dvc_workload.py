"""The DVC side of ``bench/datasets_dvc.py``: DVC's Python API timed in process, and the repositories both use.

    bench/.venv-dvc/bin/python bench/_dvc_workload.py --source data.parquet --repeat N

Run with ``bench/.venv-dvc``'s python (DVC and pyarrow, no Shipyard); prints one JSON object of samples.
``datasets_dvc.py`` imports ``make_repo`` and ``DVC_ENV`` from here too, so the module imports nothing but
the standard library at the top.

In process, per measurement (each in a fresh git + DVC repository whose remote is a local folder):

- ``add``: ``Repo(repo).add("data.parquet")``: md5 of the file, a copy into ``.dvc/cache``, the
  ``data.parquet.dvc`` file and the ``.gitignore`` entry;
- ``commit``: ``repo.scm.add([...])`` + ``repo.scm.commit(...)``: the version recorded in git;
- ``push``: ``repo.push()``: the file copied to the remote;
- ``read``: ``dvc.api.read("data.parquet", repo=repo, mode="rb")`` with the workspace file deleted, so the
  bytes come from the cache; ``read_remote``: the same with the cache emptied too, so they come from the
  remote; ``parse``: ``pyarrow.parquet.read_table`` of those bytes (what Shipyard's load returns).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Neither a usage report nor an update check may run during a measurement (both are on by default).
DVC_ENV = {"DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
DVC_ENV |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
FILE = "data.parquet"


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | DVC_ENV


def make_repo(folder: Path, remote: Path, dvc: Path, source: Path | None = None) -> Path:
    """``git init`` + ``dvc init`` in ``folder/repo`` with ``remote`` as its default remote; ``source`` copied in."""
    repo = folder / "repo"
    repo.mkdir(parents=True)
    remote.mkdir(parents=True, exist_ok=True)

    def run(*command: str | Path) -> None:
        subprocess.run([str(c) for c in command], cwd=repo, env=env(), check=True, stdout=subprocess.DEVNULL)

    run("git", "init", "-q")
    run(dvc, "init", "-q")
    run(dvc, "remote", "add", "-d", "local", remote)
    run(dvc, "config", "core.analytics", "false")
    run(dvc, "config", "core.check_update", "false")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "dvc init")
    if source is not None:
        shutil.copyfile(source, repo / FILE)
    return repo


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def measure(source: Path, dvc_bin: Path) -> dict[str, float]:
    import dvc.api
    import pyarrow as pa
    import pyarrow.parquet as pq
    from dvc.repo import Repo

    times: dict[str, float] = {}
    tmp_parent = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="dvc-bench-") as tmp:
        repo_dir = make_repo(Path(tmp), Path(tmp) / "remote", dvc_bin, source)
        os.chdir(repo_dir)  # as users run it: from inside the repository
        with Repo(str(repo_dir)) as repo:  # opening the repository is not timed (nor is Shipyard's store)
            gc.collect()
            t0 = time.perf_counter()
            repo.add(FILE)
            t1 = time.perf_counter()
            repo.scm.add([f"{FILE}.dvc", ".gitignore"])
            repo.scm.commit("data v1")
            t2 = time.perf_counter()
            repo.push()
            t3 = time.perf_counter()
        times |= {"add": t1 - t0, "commit": t2 - t1, "push": t3 - t2}
        expected = md5(source)
        recorded = (repo_dir / f"{FILE}.dvc").read_text()
        assert f"md5: {expected}" in recorded, recorded
        assert (Path(tmp) / "remote" / "files" / "md5" / expected[:2] / expected[2:]).is_file()

        (repo_dir / FILE).unlink()
        for key, where in (("read", "cache"), ("read_remote", "remote")):
            if where == "remote":
                shutil.rmtree(repo_dir / ".dvc" / "cache")
            gc.collect()
            t0 = time.perf_counter()
            data = dvc.api.read(FILE, repo=str(repo_dir), mode="rb")
            t1 = time.perf_counter()
            table = pq.read_table(pa.BufferReader(data))
            t2 = time.perf_counter()
            assert hashlib.md5(data).hexdigest() == expected and table.num_rows > 0
            times[key] = t1 - t0
            times.setdefault("parse", t2 - t1)
        os.chdir(tmp_parent)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    import dvc
    import pyarrow as pa

    os.environ.update(DVC_ENV)
    dvc_bin = Path(sys.executable).parent / "dvc"
    measure(args.source, dvc_bin)  # untimed warm-up: imports, first calls
    samples: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for key, seconds in measure(args.source, dvc_bin).items():
            samples.setdefault(key, []).append(seconds)
    versions = {"dvc": dvc.__version__, "pyarrow": pa.__version__}
    # The last line of stdout: DVC prints its hints ("To track the changes with git, run: ...") there too.
    print(json.dumps({"versions": versions, "samples_s": samples}))


if __name__ == "__main__":
    main()
