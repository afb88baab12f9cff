"""The server's routes: predictions, every kind of bad request, health, schema, metrics and docs."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.core.errors import NotFound
from shipyard.serving.app import JSON, create_app
from shipyard.serving.errors import INTERNAL_MESSAGE
from shipyard.serving.predictions import read_feedback
from shipyard.serving.predlog import PredictionLog
from tests._gate_helpers import pass_gate
from tests.serving.conftest import FEATURES, options, row, training_frame


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
    assert list(body["oneOf"][0]["properties"]["rows"]["items"]["properties"]) == FEATURES
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
    client.models.set_alias("churn", 2, "champion")
    with TestClient(create_app(client, options("churn@champion"))) as http:
        assert "shipyard_gate_passed 1.0" in http.get("/metrics").text
        assert http.post("/predict", json={"rows": [row()]}).json()["version"] == 2


def test_a_champion_held_by_an_override_is_served_but_not_vouched_for(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    pass_gate(client, "churn", 2, passed=False)  # its newest verdict fails
    client.models.set_alias("churn", 2, "champion", override_reason="incident 7: hotfix")
    with TestClient(create_app(client, options("churn@champion"))) as http:
        assert "shipyard_gate_passed 0.0" in http.get("/metrics").text
        gate = http.get("/schema").json()["gate"]
        assert not gate["passed"] and "override (incident 7: hotfix)" in gate["reason"]
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


def test_a_fault_of_the_server_is_a_json_500_that_leaks_nothing_and_serving_goes_on(
    http: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(entity: str | None) -> None:
        raise RuntimeError("a bug in /srv/secret.py")

    deployment = http.app.state.deployment  # type: ignore[attr-defined]
    monkeypatch.setattr(deployment, "choose", broken)
    answer = http.post("/predict", json={"rows": [row()]}, headers={"x-request-id": "req-7"})
    assert answer.status_code == 500 and answer.json() == {
        "error": "internal_error",
        "message": INTERNAL_MESSAGE,
        "request_id": "req-7",
    }
    assert "secret" not in answer.text and "RuntimeError" not in answer.text
    assert "Request req-7 failed" in caplog.text and "a bug in /srv/secret.py" in caplog.text
    monkeypatch.undo()
    assert http.post("/predict", json={"rows": [row()]}).status_code == 200


def test_the_request_id_and_the_proba_flag_are_read_from_the_request(http: TestClient) -> None:
    answer = http.post("/predict?x=1&proba=TRUE", json={"rows": [row()]}, headers={"X-Request-Id": "abc-1"})
    assert answer.headers["x-request-id"] == "abc-1" and answer.json()["request_id"] == "abc-1"
    assert len(answer.json()["predictions"][0]) == 2  # one probability per class
    assert answer.headers["x-model-version"] == "1"
    plain = http.post("/predict?proba=no", json={"rows": [row()]})
    assert isinstance(plain.json()["predictions"][0], int)


@pytest.fixture
def counts(client: shipyard.Client) -> Iterator[TestClient]:
    """A model with an integer input ``n`` beside the float ones."""
    df = training_frame().assign(n=lambda d: np.arange(len(d)) % 7)
    model = LogisticRegression().fit(df[[*FEATURES, "n"]], df["churned"])
    client.models.log(model, "visits", train_data=df[[*FEATURES, "n"]], project="default")
    with TestClient(create_app(client, options("visits@1"))) as test_client:
        yield test_client


@pytest.mark.parametrize("n", [123456789012345678901234567890, 2**63, 2**64 - 1, -(2**63) - 2048, 1e20, 1e300])
def test_an_integer_beyond_64_bits_is_refused_before_the_model(counts: TestClient, n: float) -> None:
    answer = counts.post("/predict", json={"rows": [{**row(), "n": 3}, {**row(), "n": n}]})
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_input"
    [problem] = answer.json()["problems"]
    assert (problem["row"], problem["field"]) == (1, "n") and "does not fit a 64-bit integer" in problem["problem"]
    assert "shipyard_model_errors_total{" not in counts.get("/metrics").text  # the model never saw it


def test_an_integer_beyond_64_bits_is_refused_in_columns_and_arrow_too(counts: TestClient) -> None:
    columns = {**{k: [v, v] for k, v in row().items()}, "n": [1, 2**63]}
    answer = counts.post("/predict", json={"columns": columns})
    assert answer.status_code == 422 and answer.json()["problems"][0]["row"] == 1
    table = pa.table({**{k: [v] for k, v in row().items()}, "n": pa.array([2**64 - 1], pa.uint64())})
    stream = io.BytesIO()
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    arrow = counts.post(
        "/predict", content=stream.getvalue(), headers={"content-type": "application/vnd.apache.arrow.stream"}
    )
    assert arrow.status_code == 422 and "does not fit a 64-bit integer" in arrow.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"rows": [row()], "columns": {k: [v] for k, v in row().items()}},
        {"rows": [row()], "dataframe_records": [row()]},
        {"columns": {k: [v] for k, v in row().items()}, "dataframe_records": "x"},
    ],
)
def test_a_body_in_two_forms_is_ambiguous(http: TestClient, body: dict[str, object]) -> None:
    answer = http.post("/predict", json=body)
    given = [key for key in ("rows", "columns", "dataframe_records") if key in body]
    assert answer.status_code == 400 and answer.json()["error"] == "malformed_body"
    assert f"both {given[0]!r} and {given[1]!r}" in answer.json()["message"]


@pytest.mark.parametrize("query", ["proba=maybe", "proba=", "proba=true&proba=no"])
def test_a_proba_flag_that_is_not_a_boolean_is_refused(http: TestClient, query: str) -> None:
    answer = http.post(f"/predict?{query}", json={"rows": [row()]})
    assert answer.status_code == 400 and answer.json()["error"] == "malformed_query"
    assert "proba=true or proba=false" in answer.json()["message"]


@pytest.mark.parametrize("given", ["x" * 129, "<script>alert(1)</script>", "a b", "é", "line\tbreak"])
def test_an_unsafe_or_long_request_id_is_replaced_by_a_generated_one(http: TestClient, given: str) -> None:
    answer = http.post("/predict", json={"rows": [row()]}, headers={"x-request-id": given.encode("utf-8")})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == answer.json()["request_id"]
    assert answer.json()["request_id"] != given and len(answer.json()["request_id"]) == 20
    kept = "Trace-1;Root=abc/def+g=@x.y:z_" + "9" * 98  # the safe characters, 128 of them
    assert http.post("/predict", json={"rows": [row()]}, headers={"x-request-id": kept}).json()["request_id"] == kept


def test_a_content_length_of_thousands_of_digits_is_too_large_not_a_fault(http: TestClient) -> None:
    answer = http.post("/predict", content=b"{}", headers={"content-type": JSON, "content-length": "9" * 5000})
    assert answer.status_code == 413 and answer.json()["error"] == "payload_too_large"


@pytest.mark.parametrize(
    ("item", "field", "problem"),
    [
        ({"request_id": "r1", "label": {"a": 1}}, "label", "expected a number or a boolean"),
        ({"request_id": "r1", "label": None}, "label", "is null"),
        ({"request_id": "r1", "label": "yes"}, "label", "expected a number or a boolean (what the model predicts)"),
        ({"request_id": "r1", "label": 1, "row": -1}, "row", "got int -1"),
        ({"request_id": "r1", "label": 1, "row": "x"}, "row", "got str 'x'"),
        ({"request_id": "r1", "label": 1, "row": 2**63}, "row", "got int 9223372036854775808"),
        ({"request_id": "", "label": 1}, "request_id", "at most 128 characters"),
        ({"request_id": "x" * 129, "label": 1}, "request_id", "at most 128 characters"),
        ({"request_id": 7, "label": 1}, "request_id", "got int 7"),
        ({"label": 1}, "request_id", "is missing"),
        ({"request_id": "r1", "label": 1, "at": 5}, "at", "is not a feedback field"),
    ],
)
def test_every_feedback_item_is_checked(http: TestClient, item: dict[str, object], field: str, problem: str) -> None:
    answer = http.post("/feedback", json={"items": [{"request_id": "ok", "label": 1}, item]})
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_input"
    [found] = answer.json()["problems"]
    assert (found["item"], found["field"]) == (1, field) and problem in found["problem"]


@pytest.fixture
def logged(client: shipyard.Client, models: list[LogisticRegression]) -> Iterator[tuple[TestClient, PredictionLog]]:
    """A server whose prediction log holds 3 feedback items at most, with its writer stuck until released."""
    from tests.serving.test_predlog import stuck_writer

    with pytest.MonkeyPatch.context() as patch:
        entered, release = stuck_writer(client, patch)
        plog = PredictionLog(client.backend, "default", "churn", max_feedback_queue=3, segment_rows=1)
        with TestClient(create_app(client, options(), prediction_log=plog)) as test_client:
            assert test_client.post("/predict", json={"rows": [row()]}).status_code == 200
            assert entered.wait(10)  # the writer holds that request's record and takes nothing more
            yield test_client, plog
            release.set()


def test_feedback_is_queued_all_or_none_and_never_crowds_out_predictions(
    logged: tuple[TestClient, PredictionLog],
) -> None:
    http, plog = logged
    two = {"items": [{"request_id": "a", "label": True, "row": 0}, {"request_id": "b", "label": 0}]}
    assert http.post("/feedback", json=two).json() == {"accepted": 2, "received": 2}
    full = http.post("/feedback", json=two)
    assert full.status_code == 503 and full.headers["retry-after"] == "1"
    assert full.json()["error"] == "feedback_queue_full" and "none of these 2 items was kept" in full.json()["message"]
    assert http.post("/predict", json={"rows": [row()]}).status_code == 200
    assert (plog.depth, plog.dropped) == (3, 0)  # two labels and the prediction: nothing lost
    assert 'shipyard_requests_total{route="/feedback",status="503"} 1.0' in http.get("/metrics").text


def test_feedback_items_per_request_are_capped(http: TestClient, logged: tuple[TestClient, PredictionLog]) -> None:
    answer = http.post("/feedback", json={"items": [{"request_id": f"r{i}", "label": 1} for i in range(101)]})
    assert answer.status_code == 422 and "101 items, more than the limit of 100" in answer.json()["message"]
    small, _plog = logged  # its log holds 3 items: a request never asks for more than can ever be queued
    answer = small.post("/feedback", json={"items": [{"request_id": f"r{i}", "label": 1} for i in range(4)]})
    assert answer.status_code == 422 and "more than the limit of 3" in answer.json()["message"]


def test_a_server_takes_as_many_labels_at_once_as_rows_in_its_largest_request(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    with TestClient(create_app(client, options(log_predictions=True))) as http:  # --max-rows 10,000
        items = [{"request_id": "r1", "label": 1, "row": i} for i in range(10_000)]
        assert http.post("/feedback", json={"items": items}).json() == {"accepted": 10_000, "received": 10_000}
        assert http.post("/feedback", json={"items": [*items, items[0]]}).status_code == 422


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b'{"request_id": "r1", "label": 1}', "text/plain", 415, "unsupported_media_type"),
        (b'{"request_id": "r1", "label": 1}', "application/vnd.apache.arrow.stream", 415, "unsupported_media_type"),
        (b"[]", "application/json", 400, "malformed_body"),
        (b'{"items": [], "request_id": "r1"}', "application/json", 400, "malformed_body"),
        (b'{"items": []}', "application/json", 422, "invalid_input"),
        (b'{"request_id": "r1", "label": NaN}', "application/json", 400, "malformed_json"),
    ],
)
def test_a_bad_feedback_body_gets_a_clear_4xx(
    http: TestClient, content: bytes, content_type: str, status: int, error: str
) -> None:
    answer = http.post("/feedback", content=content, headers={"content-type": content_type})
    assert answer.status_code == status and answer.json()["error"] == error


def test_feedback_labels_keep_one_type_in_the_log(client: shipyard.Client, models: list[LogisticRegression]) -> None:
    plog = PredictionLog(client.backend, "default", "churn")
    with TestClient(create_app(client, options(), prediction_log=plog)) as http:
        items = [{"request_id": "a", "label": True}, {"request_id": "b", "label": 0, "row": 2}]
        assert http.post("/feedback", json={"items": items}).status_code == 202
        assert http.post("/feedback", json={"request_id": "c", "label": "1"}).status_code == 422
    labels = read_feedback(client.backend, "default", "churn")
    assert labels.schema.field("label").type == pa.float64()
    assert labels.select(["request_id", "label", "row"]).to_pylist() == [
        {"request_id": "a", "label": 1.0, "row": None},
        {"request_id": "b", "label": 0.0, "row": 2},
    ]


def test_a_time_beyond_what_python_holds_in_an_arrow_body_is_a_clear_422(http: TestClient) -> None:
    table = pa.table({**{k: [v] for k, v in row().items()}, "tenure": pa.array([10**15], pa.timestamp("s"))})
    stream = io.BytesIO()
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    answer = http.post(
        "/predict", content=stream.getvalue(), headers={"content-type": "application/vnd.apache.arrow.stream"}
    )
    assert answer.status_code == 422 and answer.json()["problems"][0]["field"] == "tenure"
    assert "cannot be read as Python values" in answer.json()["message"]
