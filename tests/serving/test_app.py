"""The server's routes: predictions, every kind of bad request, health, schema, metrics and docs."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.core.errors import NotFound
from shipyard.serving.app import create_app
from tests.serving.conftest import FEATURES, options, row


@pytest.fixture
def http(client: shipyard.Client, models: list[LogisticRegression]) -> TestClient:
    with TestClient(create_app(client, options(max_body_bytes=100_000, max_rows=100))) as test_client:
        yield test_client


def test_predict_answers_with_the_version_and_a_request_id(http: TestClient, models: list[LogisticRegression]) -> None:
    rows = [row(), row(-1.0, 2.0, 0.0)]
    answer = http.post("/predict", json={"rows": rows})
    assert answer.status_code == 200
    body = answer.json()
    assert body["predictions"] == models[0].predict(pd.DataFrame(rows)[FEATURES]).tolist()
    assert (body["model"], body["version"]) == ("churn", 1) and answer.headers["x-request-id"] == body["request_id"]


def test_columns_arrow_parquet_and_mlflow_records_are_accepted(http: TestClient) -> None:
    table = pa.table({name: [row()[name]] for name in FEATURES})
    expected = http.post("/predict", json={"rows": [row()]}).json()["predictions"]
    assert http.post("/predict", json={"columns": {k: [v] for k, v in row().items()}}).json()["predictions"] == expected
    assert http.post("/predict", json={"dataframe_records": [row()]}).json()["predictions"] == expected
    stream = io.BytesIO()
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    arrow = http.post(
        "/predict", content=stream.getvalue(), headers={"content-type": "application/vnd.apache.arrow.stream"}
    )
    assert arrow.json()["predictions"] == expected
    parquet = io.BytesIO()
    pq.write_table(table, parquet)
    answer = http.post(
        "/predict", content=parquet.getvalue(), headers={"content-type": "application/vnd.apache.parquet"}
    )
    assert answer.json()["predictions"] == expected


def test_probabilities_on_request(http: TestClient, models: list[LogisticRegression]) -> None:
    body = http.post("/predict?proba=true", json={"rows": [row()]}).json()
    np.testing.assert_allclose(body["predictions"], models[0].predict_proba(pd.DataFrame([row()])[FEATURES]))


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b'{"rows": [', "application/json", 400, "malformed_json"),
        (b'{"rows": [{"tenure": NaN, "calls": 1, "spend": 1}]}', "application/json", 400, "malformed_json"),
        (b"tenure=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"rows": []}', "application/json", 422, "invalid_input"),
        (b'{"data": []}', "application/json", 400, "malformed_body"),
        (b"x" * 200_000, "application/json", 413, "payload_too_large"),
        (b"not arrow", "application/vnd.apache.arrow.stream", 400, "malformed_body"),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    http: TestClient, content: bytes, content_type: str, status: int, error: str
) -> None:
    answer = http.post("/predict", content=content, headers={"content-type": content_type})
    assert answer.status_code == status and answer.json()["error"] == error
    assert answer.json()["request_id"] and http.get("/health").status_code == 200


def test_every_offending_field_and_row_is_named(http: TestClient) -> None:
    rows = [row(), {"tenure": "three", "calls": None, "spend": 1.0}, {"tenure": 1.0, "calls": 2.0, "extra": 1}]
    answer = http.post("/predict", json={"rows": rows})
    assert answer.status_code == 422
    problems = {(p["row"], p["field"]) for p in answer.json()["problems"]}
    assert problems == {(1, "tenure"), (1, "calls"), (2, "spend"), (2, "extra")}
    assert "expected float, got str 'three'" in answer.json()["message"]


def test_nan_and_too_many_rows_are_refused(http: TestClient) -> None:
    table = pa.table({"tenure": [float("nan")], "calls": [1.0], "spend": [1.0]})
    stream = io.BytesIO()
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    nan = http.post(
        "/predict", content=stream.getvalue(), headers={"content-type": "application/vnd.apache.arrow.stream"}
    )
    assert nan.status_code == 422 and nan.json()["problems"][0]["field"] == "tenure"
    many = http.post("/predict", json={"rows": [row()] * 101})
    assert many.status_code == 422 and "limit of 100" in many.json()["message"]


def test_health_ready_schema_and_docs(http: TestClient) -> None:
    assert http.get("/health").json() == {"status": "ok"}
    assert http.get("/ready").json()["champion"] == {"model": "churn", "version": 1, "ref": "churn@challenger"}
    schema = http.get("/schema").json()
    assert [c["name"] for c in schema["signature"]["inputs"]] == FEATURES and schema["gate_passed"] is False
    openapi = http.get("/openapi.json").json()
    body = openapi["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert list(body["properties"]["rows"]["items"]["properties"]) == FEATURES
    assert http.get("/docs").status_code == 200


def test_metrics_count_requests_and_report_the_gate(http: TestClient) -> None:
    http.post("/predict", json={"rows": [row()]})
    http.post("/predict", content=b"{", headers={"content-type": "application/json"})
    text = http.get("/metrics").text
    assert 'shipyard_requests_total{route="/predict",status="200"} 1.0' in text
    assert 'shipyard_requests_total{route="/predict",status="400"} 1.0' in text
    assert "shipyard_gate_passed 0.0" in text and 'shipyard_model_version{model="churn",role="champion"} 1.0' in text
    assert "shipyard_request_latency_seconds_bucket" in text and "shipyard_batch_rows_count 1.0" in text


def test_a_protected_alias_reports_the_gate_passed(client: shipyard.Client, models: list[LogisticRegression]) -> None:
    client.models.set_alias("churn", 2, "champion", override_reason="test: no gate policy here")
    with TestClient(create_app(client, options("churn@champion"))) as http:
        assert "shipyard_gate_passed 1.0" in http.get("/metrics").text
        assert http.post("/predict", json={"rows": [row()]}).json()["version"] == 2


def test_an_unknown_version_is_refused_before_serving(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    with pytest.raises(NotFound):
        create_app(client, options(canary="churn@9", canary_share=0.1))


def test_predict_takes_only_post(http: TestClient) -> None:
    answer = http.get("/predict")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    assert answer.json()["error"] == "method_not_allowed" and answer.json()["request_id"]


def test_a_fault_of_the_server_is_a_json_500_and_serving_goes_on(
    http: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(entity: str | None) -> None:
        raise RuntimeError("a bug")

    deployment = http.app.state.deployment  # type: ignore[attr-defined]
    monkeypatch.setattr(deployment, "choose", broken)
    answer = http.post("/predict", json={"rows": [row()]}, headers={"x-request-id": "req-7"})
    assert answer.status_code == 500 and answer.json() == {
        "error": "internal_error",
        "message": "The server failed on this request: RuntimeError.",
        "request_id": "req-7",
    }
    monkeypatch.undo()
    assert http.post("/predict", json={"rows": [row()]}).status_code == 200


def test_the_request_id_and_the_proba_flag_are_read_from_the_request(http: TestClient) -> None:
    answer = http.post("/predict?x=1&proba=TRUE", json={"rows": [row()]}, headers={"X-Request-Id": "abc-1"})
    assert answer.headers["x-request-id"] == "abc-1" and answer.json()["request_id"] == "abc-1"
    assert len(answer.json()["predictions"][0]) == 2  # one probability per class
    assert answer.headers["x-model-version"] == "1"
    plain = http.post("/predict?proba=no", json={"rows": [row()]})
    assert isinstance(plain.json()["predictions"][0], int)
