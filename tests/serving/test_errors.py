"""Every serving route answers errors through ``error_answer``: the class's status and code, JSON, no leaks."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.core.errors import (
    FeedbackQueueFull,
    MethodNotAllowed,
    NotFound,
    StoreError,
)
from shipyard.serving.app import create_app
from shipyard.serving.errors import INTERNAL_MESSAGE, error_answer
from shipyard.serving.validation import RequestInvalid
from tests.serving.conftest import options


@pytest.fixture
def http(client: shipyard.Client, models: list[LogisticRegression]) -> TestClient:
    with TestClient(create_app(client, options())) as test_client:
        yield test_client


def test_details_and_the_request_id_reach_the_body() -> None:
    problems = [{"row": 0, "field": "tenure", "problem": "is missing"}]
    answer = error_answer(RequestInvalid(problems), "req-1")
    assert answer.status == 422 and answer.headers == {}
    assert answer.body == {
        "error": "invalid_input",
        "message": "The request does not fit the model's signature: row 0, 'tenure' is missing.",
        "problems": problems,
        "problem_count": 1,
        "request_id": "req-1",
    }


def test_headers_come_from_the_error() -> None:
    assert error_answer(MethodNotAllowed("no", allowed=("GET", "HEAD"))).headers == {"allow": "GET, HEAD"}
    assert error_answer(FeedbackQueueFull("full", retry_after=2)).headers == {"retry-after": "2"}


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [(StoreError("The store is down; retry."), 503, "store_unavailable"), (NotFound("No x."), 404, "not_found")],
)
def test_a_fastapi_route_answers_a_shipyard_error_with_its_status_and_code(
    http: TestClient, monkeypatch: pytest.MonkeyPatch, raised: Exception, status: int, code: str
) -> None:
    def broken() -> None:
        raise raised

    monkeypatch.setattr(http.app.state.server, "_versions", broken)  # type: ignore[attr-defined]
    answer = http.get("/schema")
    assert answer.status_code == status and answer.json() == {"error": code, "message": str(raised)}
    assert f'shipyard_requests_total{{route="/schema",status="{status}"}} 1.0' in http.get("/metrics").text


def test_a_fault_in_a_fastapi_route_is_a_json_500_that_leaks_nothing(
    http: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise KeyError("password=hunter2")

    monkeypatch.setattr(http.app.state.server, "_versions", broken)  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR, logger="shipyard.serving"):
        answer = http.get("/ready")
    assert answer.status_code == 500 and answer.json() == {"error": "internal_error", "message": INTERNAL_MESSAGE}
    assert "hunter2" in caplog.text and "hunter2" not in answer.text
    monkeypatch.undo()
    assert http.get("/ready").status_code == 200


def test_an_unknown_route_is_a_json_404_naming_the_routes(http: TestClient) -> None:
    answer = http.get("/predcit")
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"
    assert "GET /predcit: no such route; the routes are /predict, /feedback" in answer.json()["message"]
    assert "/predcit" not in http.get("/metrics").text  # an arbitrary path is no metric series


def test_a_method_a_route_does_not_take_is_a_json_405_with_allow(http: TestClient) -> None:
    answer = http.get("/feedback")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    assert answer.json() == {"error": "method_not_allowed", "message": "GET /feedback: send POST."}
