import pytest

import shipyard as sy
from shipyard.gates import checks
from shipyard.gates.policy import parse_policy
from tests.gates.conftest import World
from tests.gates.test_checks import run_check


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = {"even_rows": "tests.gates.plugin_check:EvalRowsAreEven", "broken": "tests.gates.plugin_check:NotACheck"}
    monkeypatch.setattr(checks, "_plugins", lambda: entries)


@pytest.mark.local_only("the plugin is patched into this process; a server's gate runs the checks installed there")
@pytest.mark.usefixtures("plugins")
def test_a_plugin_kind_from_the_entry_point_group_runs_like_a_builtin(world: World) -> None:
    assert "even_rows" in checks.kinds()
    assert run_check(world, 'kind = "even_rows"').status.value == "pass"  # 600 eval rows


@pytest.mark.usefixtures("plugins")
def test_an_entry_point_that_is_not_a_check_is_refused() -> None:
    with pytest.raises(sy.InvalidInput, match="not a Check subclass"):
        parse_policy({"checks": [{"kind": "broken"}]})
