"""Micro-batching, a model that raises on some rows, canary and shadow traffic, and hot swap."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2 as httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.serving.app import create_app
from tests.serving.conftest import FEATURES, options, row


async def _post_many(app: object, bodies: list[dict], headers: list[dict] | None = None) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://s") as http:  # type: ignore[attr-defined]
        calls = [
            http.post("/predict", json=b, headers=(headers or [{}] * len(bodies))[i]) for i, b in enumerate(bodies)
        ]
        return list(await asyncio.gather(*calls))


def test_concurrent_requests_are_predicted_in_batches(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    app = create_app(client, options())
    rows = [row(i / 10, -i / 7, 1.0) for i in range(60)]
    answers = asyncio.run(_post_many(app, [{"rows": [r]} for r in rows]))
    expected = models[0].predict(pd.DataFrame(rows)[FEATURES]).tolist()
    assert [a.json()["predictions"][0] for a in answers] == expected
    batches = app.state.server.metrics.batch_rows
    assert batches._sum.get() == 60 and sum(b.get() for b in batches._buckets) < 60  # fewer calls than requests


class Picky:
    """Refuses negative tenure, as a model with an unseen category would."""

    def predict(self, frame: pd.DataFrame) -> list[float]:
        if (frame["tenure"] < 0).any():
            raise ValueError("negative tenure")
        return list(frame["tenure"] * 2)


def test_a_model_raising_on_some_rows_fails_only_those_requests(client: shipyard.Client) -> None:
    client.models.log(Picky(), "picky", flavor="python_function", input_example=pd.DataFrame([row()]))
    app = create_app(client, options("picky@1", trust_unsafe=True))
    answers = asyncio.run(_post_many(app, [{"rows": [row(t)]} for t in (1.0, -1.0, 2.0, -2.0, 3.0)]))
    assert [a.status_code for a in answers] == [200, 500, 200, 500, 200]
    assert [a.json()["predictions"] for a in answers if a.status_code == 200] == [[2.0], [4.0], [6.0]]
    failed = answers[1].json()
    assert failed["error"] == "model_error" and "negative tenure" in failed["message"] and failed["request_id"]


def test_a_canary_takes_its_share_sticky_per_entity(client: shipyard.Client, models: list[LogisticRegression]) -> None:
    app = create_app(client, options("churn@1", canary="churn@2", canary_share=0.2))
    entities = [{"x-entity-id": f"customer-{i}"} for i in range(400)]
    first = asyncio.run(_post_many(app, [{"rows": [row()]}] * 400, entities))
    again = asyncio.run(_post_many(app, [{"rows": [row()]}] * 400, entities))
    versions = [a.json()["version"] for a in first]
    assert versions == [a.json()["version"] for a in again]
    assert 0.12 < versions.count(2) / 400 < 0.28


def test_a_shadow_predicts_but_never_answers(client: shipyard.Client, models: list[LogisticRegression]) -> None:
    app = create_app(client, options("churn@1", shadow="churn@2"))
    answers = asyncio.run(_post_many(app, [{"rows": [row()]}] * 20))
    assert {a.json()["version"] for a in answers} == {1}
    shadow = app.state.deployment.shadow
    assert shadow.served.number == 2


def test_a_moved_alias_is_swapped_in_without_dropping_requests(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    app = create_app(client, options("churn@challenger"))
    deployment = app.state.deployment

    async def scenario() -> tuple[list[httpx.Response], list[str], list[httpx.Response]]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://s") as http,
        ):
            during = [asyncio.ensure_future(http.post("/predict", json={"rows": [row()]})) for _ in range(30)]
            client.models.set_alias("churn", 2, "challenger")
            swapped = await deployment.refresh()
            before = await asyncio.gather(*during)
            after = [await http.post("/predict", json={"rows": [row()]}) for _ in range(3)]
            return before, swapped, after

    during, swapped, after = asyncio.run(scenario())
    assert swapped == ["champion"] and all(a.status_code == 200 for a in during)
    assert {a.json()["version"] for a in after} == {2}
    assert "shipyard_model_swaps_total" in app.state.server.metrics.render().decode()


def test_rolling_back_the_alias_reaches_the_server(
    client: shipyard.Client, models: list[LogisticRegression], tmp_path: Path
) -> None:
    client.models.set_alias("churn", 2, "challenger")
    app = create_app(client, options("churn@challenger"))

    async def scenario() -> int:
        async with app.router.lifespan_context(app):
            client.models.set_alias("churn", 1, "challenger")
            await app.state.deployment.refresh()
            return int(app.state.deployment.champion.served.number)

    assert asyncio.run(scenario()) == 1


def test_every_answer_and_the_shadows_are_logged(client: shipyard.Client, models: list[LogisticRegression]) -> None:
    from shipyard.serving.predictions import read_predictions

    app = create_app(client, options("churn@1", shadow="churn@2", log_predictions=True))
    answers = asyncio.run(_post_many(app, [{"rows": [row(), row(1.0)]}] * 3))
    logged = read_predictions(client.backend, "default", "churn")
    ids = {a.json()["request_id"] for a in answers}
    assert set(logged.column("request_id").to_pylist()) == ids and logged.num_rows == 12
    assert sorted(set(zip(logged.column("role").to_pylist(), logged.column("version").to_pylist(), strict=True))) == [
        ("champion", 1),
        ("shadow", 2),
    ]


def test_an_unwritable_artifact_store_drops_log_records_but_serving_goes_on(
    client: shipyard.Client, models: list[LogisticRegression], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(client.backend.blobs, "adopt_file", refuse)
    monkeypatch.setattr(client.backend.blobs, "put_file", refuse)
    app = create_app(client, options(log_predictions=True))
    answers = asyncio.run(_post_many(app, [{"rows": [row()]}] * 5))
    assert [a.status_code for a in answers] == [200] * 5
    plog = app.state.server.log
    assert plog.write_errors >= 1 and plog.dropped == 5
    with TestClient(app) as http:
        assert "shipyard_prediction_log_dropped 5.0" in http.get("/metrics").text


def test_a_binary_classifiers_log_holds_the_positive_class_probability(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    from shipyard.monitoring.live import live_metric
    from shipyard.serving.predictions import read_feedback, read_predictions
    from shipyard.serving.predlog import PredictionLog

    rows = [row(), row(-2.0, 1.0), row(2.0, -1.0)]
    app = create_app(client, options("churn@1", log_predictions=True))
    answers = asyncio.run(_post_many(app, [{"rows": rows}] * 2))
    logged = read_predictions(client.backend, "default", "churn")
    expected = models[0].predict_proba(pd.DataFrame(rows)[FEATURES])[:, 1].tolist() * 2
    assert logged.column("score").to_pylist() == pytest.approx(expected)
    with PredictionLog(client.backend, "default", "churn") as plog:
        for answer in answers:
            for index, label in enumerate((1, 0, 1)):
                plog.append_feedback(answer.json()["request_id"], label, row=index)
    auc = live_metric("roc_auc", logged, read_feedback(client.backend, "default", "churn"), min_labels=6)
    assert auc.status == "ok" and auc.labels == 6


def test_one_probability_call_gives_the_same_predictions_as_predict(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    import numpy as np

    from shipyard.serving.validation import Batch

    served = create_app(client, options("churn@2")).state.deployment.champion.served
    values = np.random.default_rng(3).normal(scale=3, size=(200, 3))
    batch = Batch({name: values[:, i].tolist() for i, name in enumerate(FEATURES)}, 200)
    predictions, scores = served.predict_scored(batch)
    frame = pd.DataFrame(values, columns=FEATURES)
    assert predictions.tolist() == models[1].predict(frame).tolist()
    assert scores.tolist() == pytest.approx(models[1].predict_proba(frame)[:, 1].tolist())
