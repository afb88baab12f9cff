import itertools
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard as sy
from tests.registry.conftest import NewVersion

WORKER = str(Path(__file__).with_name("_alias_worker.py"))


@pytest.mark.slow
def test_two_processes_moving_one_alias_leave_a_consistent_state_and_log(
    client: sy.Client, new_version: NewVersion, store_settings: dict[str, str]
) -> None:
    new_version(), new_version()
    workers = [
        subprocess.Popen(
            [sys.executable, WORKER, store_settings["uri"], store_settings["artifacts"], str(version)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version in (1, 2)
    ]
    for proc in workers:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in workers:  # both are told to go before either is waited for
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=240) for proc in workers]
    assert [proc.returncode for proc in workers] == [0, 0], [err for _, err in outputs]
    moves = [e for e in reversed(client.models.audit_log("churn", limit=1000)) if e.action == "alias.set"]
    assert len(moves) == 200
    for before, after in itertools.pairwise(moves):  # each move saw exactly the state the last one left
        assert after.details["old_version"] == before.details["new_version"]
    assert client.models.get("churn@challenger").version == moves[-1].details["new_version"]
    chain = client.models.verify_audit()  # two writers extended one hash chain, gap-free, in commit order
    assert chain.ok, chain.problems
