import pytest

import shipyard as sy
from shipyard.core.validation import MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH

pytestmark = pytest.mark.over_http  # this suite also runs on the HTTP backend (tests/conftest.py)


def test_params_are_stored_as_strings(client: sy.Client) -> None:
    with client.start_run(project="churn") as run:
        run.log_params({"C": 1.0, "penalty": "l2"})
    assert client.get_run(run.id).params == {"C": "1.0", "penalty": "l2"}


def test_relogging_the_same_param_value_is_a_no_op(client: sy.Client) -> None:
    with client.start_run() as run:
        run.log_param("lr", 0.1)
        run.log_param("lr", 0.1)
    assert client.get_run(run.id).params == {"lr": "0.1"}


def test_changing_a_param_is_a_conflict_and_writes_nothing(client: sy.Client) -> None:
    with client.start_run() as run:
        run.log_param("lr", 0.1)
        with pytest.raises(sy.Conflict, match=r"'lr': logged '0\.1', now '0\.2'"):
            run.log_params({"new": "x", "lr": 0.2})
    assert client.get_run(run.id).params == {"lr": "0.1"}


def test_tags_can_be_overwritten(client: sy.Client) -> None:
    with client.start_run(tags={"team": "a"}) as run:
        run.set_tag("team", "b")
        run.set_tags({"stage": "dev"})
    assert client.get_run(run.id).tags == {"team": "b", "stage": "dev"}


@pytest.mark.parametrize(
    "key",
    ["", "x" * (MAX_KEY_LENGTH + 1), "a/../b", "../b", "/abs", "tab\tkey", "nul\x00", "semi;colon"],
)
def test_bad_param_keys_are_invalid_input_and_nothing_is_written(client: sy.Client, key: str) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match="key"):
        run.log_params({"good": 1, key: 2})
    assert client.get_run(run.id).params == {}


def test_over_long_values_state_the_limit(client: sy.Client) -> None:
    with client.start_run() as run:
        with pytest.raises(sy.InvalidInput, match=str(MAX_PARAM_VALUE_LENGTH)):
            run.log_param("p", "x" * (MAX_PARAM_VALUE_LENGTH + 1))
        with pytest.raises(sy.InvalidInput, match=str(MAX_TAG_VALUE_LENGTH)):
            run.set_tag("t", "x" * (MAX_TAG_VALUE_LENGTH + 1))
        run.log_param("p", "x" * MAX_PARAM_VALUE_LENGTH)
    assert len(client.get_run(run.id).params["p"]) == MAX_PARAM_VALUE_LENGTH


def test_non_mapping_params_are_rejected(client: sy.Client) -> None:
    with client.start_run() as run, pytest.raises(sy.InvalidInput, match="mapping"):
        run.log_params([("a", 1)])  # type: ignore[arg-type]
