"""The OpenAPI description says what the server accepts and answers: a body the schema allows is taken, one
it forbids is refused, and every answer's status and content type is listed (what schemathesis checks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.serving.app import create_app
from tests.serving.conftest import FEATURES, options, row, training_frame

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (which ray brings) checks bodies against the schema")

MAX_ROWS = 5


@pytest.fixture
def http(client: shipyard.Client) -> Iterator[TestClient]:
    """A model with an integer input ``n`` beside the float ones, serving at most 5 rows a request."""
    df = training_frame().assign(n=lambda d: np.arange(len(d)) % 7)
    model = LogisticRegression().fit(df[[*FEATURES, "n"]], df["churned"])
    client.models.log(model, "visits", train_data=df[[*FEATURES, "n"]], project="default")
    with TestClient(create_app(client, options("visits@1", max_rows=MAX_ROWS))) as test_client:
        yield test_client


def operation(http: TestClient, path: str, method: str = "post") -> dict[str, Any]:
    spec: dict[str, Any] = http.get("/openapi.json").json()
    return dict(spec["paths"][path][method])


def body_schema(http: TestClient, path: str) -> dict[str, Any]:
    return dict(operation(http, path)["requestBody"]["content"]["application/json"]["schema"])


def full(**values: Any) -> dict[str, Any]:
    return {**row(), "n": 3, **values}


def test_integers_are_bounded_to_64_bits_and_rows_are_required(http: TestClient) -> None:
    rows, columns, records = body_schema(http, "/predict")["oneOf"]
    assert rows["required"] == ["rows"] and records["required"] == ["dataframe_records"]
    assert (rows["properties"]["rows"]["minItems"], rows["properties"]["rows"]["maxItems"]) == (1, MAX_ROWS)
    values = rows["properties"]["rows"]["items"]["properties"]
    assert values["n"] == {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}
    assert values["tenure"] == {"type": "number", "format": "double"}
    assert columns["properties"]["columns"]["properties"]["n"]["items"] == values["n"]


PREDICT_BODIES = [
    {"rows": [full()]},
    {"rows": [full(n=2**63 - 1), full(n=-(2**63))]},
    {"columns": {**{name: [value] for name, value in full().items()}}},
    {"dataframe_records": [full()]},
    {"rows": []},
    {},
    {"rows": [full()] * (MAX_ROWS + 1)},
    {"rows": [full()], "columns": {name: [value] for name, value in full().items()}},
    {"rows": [full()], "dataframe_records": "x"},
    {"rows": [full(n=2**63)]},
    {"rows": [full(n=1e300)]},
    {"rows": [full(n=1.5)]},
    {"rows": [full(n=True)]},
    {"rows": [full(tenure=None)]},
    {"rows": [full(extra=1)]},
    {"rows": [{"tenure": 1.0}]},
    {"rows": "x"},
    {"columns": {name: [] for name in full()}},
    {"data": [full()]},
]


@pytest.mark.parametrize("body", PREDICT_BODIES)
def test_predict_takes_exactly_the_bodies_its_schema_allows(http: TestClient, body: dict[str, Any]) -> None:
    allowed = jsonschema.Draft202012Validator(body_schema(http, "/predict")).is_valid(body)
    answer = http.post("/predict", json=body)
    assert (answer.status_code == 200) is allowed, answer.text
    assert str(answer.status_code) in operation(http, "/predict")["responses"]


FEEDBACK_BODIES = [
    {"request_id": "r1", "label": 1},
    {"request_id": "r1", "label": True, "row": 0},
    {"items": [{"request_id": "a-1", "label": 0.5}, {"request_id": "b:2", "label": 0, "row": 3}]},
    {"request_id": "r1", "label": None},
    {"request_id": "r1", "label": {"a": 1}},
    {"request_id": "r1", "label": "yes"},  # the model predicts numbers
    {"request_id": "r1", "label": 1, "row": -1},
    {"request_id": "r1", "label": 1, "row": "x"},
    {"request_id": "r1", "label": 1, "row": 2**63},
    {"request_id": "", "label": 1},
    {"request_id": "x" * 129, "label": 1},
    {"request_id": "<b>", "label": 1},
    {"request_id": "r1", "label": 1, "at": 5},
    {"items": []},
    {"items": [{"request_id": "r1", "label": 1}] * (MAX_ROWS + 1)},
    {"items": [{"request_id": "r1", "label": 1}], "request_id": "r2"},
    {},
]


@pytest.mark.parametrize("body", FEEDBACK_BODIES)
def test_feedback_takes_exactly_the_bodies_its_schema_allows(http: TestClient, body: dict[str, Any]) -> None:
    allowed = jsonschema.Draft202012Validator(body_schema(http, "/feedback")).is_valid(body)
    answer = http.post("/feedback", json=body)
    assert (answer.status_code == 202) is allowed, answer.text
    assert str(answer.status_code) in operation(http, "/feedback")["responses"]


def test_every_answer_is_documented_with_its_content_type(http: TestClient) -> None:
    checks = [
        ("get", "/health", {}),
        ("get", "/ready", {}),
        ("get", "/schema", {}),
        ("get", "/metrics", {}),
        ("post", "/feedback", {"content": b"{", "headers": {"content-type": "application/json"}}),
        ("post", "/feedback", {"content": b"x", "headers": {"content-type": "text/plain"}}),
        ("post", "/predict", {"content": b"x", "headers": {"content-type": "text/plain"}}),
        ("post", "/predict?proba=maybe", {"json": {"rows": [full()]}}),
    ]
    for method, url, request in checks:
        answer = http.request(method.upper(), url, **request)
        documented = operation(http, url.split("?")[0], method)["responses"][str(answer.status_code)]["content"]
        assert answer.headers["content-type"].split(";")[0] in documented, (url, answer.status_code)
