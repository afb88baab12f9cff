"""A canary started through the registry reaches running servers at their next poll, and leaves when it ends."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import httpx2 as httpx
import pandas as pd
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.serving.app import ServingApp, create_app
from tests.serving.conftest import FEATURES, options, row

ENTITIES = [f"customer-{i}" for i in range(200)]


def on_canary(entity: str, share: float) -> bool:
    return zlib.crc32(entity.encode()) % 10_000 < share * 10_000


async def versions_by_entity(http: httpx.AsyncClient) -> list[int]:
    answers = [await http.post("/predict", json={"rows": [row()]}, headers={"x-entity-id": e}) for e in ENTITIES]
    return [a.json()["version"] for a in answers]


def run(app: ServingApp, scenario: Any) -> Any:
    async def main() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://s") as http,
        ):
            return await scenario(app.state.deployment, http)

    return asyncio.run(main())


def test_a_registry_canary_is_picked_up_split_by_share_and_dropped_when_it_ends(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    app = create_app(client, options("churn@challenger"))

    async def scenario(deployment: Any, http: httpx.AsyncClient) -> tuple[list[str], list[int], list[str], list[int]]:
        client.models.start_canary("churn", 2, 0.3)
        started = await deployment.refresh()
        during = await versions_by_entity(http)
        client.models.end_canary("churn", "rolled_back")
        ended = await deployment.refresh()
        return started, during, ended, await versions_by_entity(http)

    started, during, ended, after = run(app, scenario)
    assert started == ["canary"] and ended == ["canary"]
    assert during == [2 if on_canary(e, 0.3) else 1 for e in ENTITIES]
    assert 0 < during.count(2) < len(ENTITIES) and set(after) == {1}
    assert app.state.deployment.canary is None


def test_requests_queued_on_an_ended_canary_finish_there(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    client.models.start_canary("churn", 2, 0.5)
    app = create_app(client, options("churn@challenger"))
    entity = next(e for e in ENTITIES if on_canary(e, 0.5))

    async def scenario(deployment: Any, http: httpx.AsyncClient) -> tuple[Any, Any, int]:
        slot = deployment.choose(entity)
        batch = slot.served.validator.rows([row()], max_rows=10)
        queued = asyncio.ensure_future(slot.batcher.predict(batch))
        client.models.end_canary("churn", "stopped")
        await deployment.refresh()
        answer = await http.post("/predict", json={"rows": [row()]}, headers={"x-entity-id": entity})
        return slot, await queued, answer.json()["version"]

    slot, predicted, version_after = run(app, scenario)
    assert slot.role == "canary" and slot.served.number == 2
    assert list(predicted) == models[1].predict(pd.DataFrame([row()])[FEATURES]).tolist()
    assert version_after == 1


def test_a_fixed_champion_still_follows_the_registry_canary(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    app = create_app(client, options("churn@1"))

    async def scenario(deployment: Any, http: httpx.AsyncClient) -> tuple[bool, list[str], Any]:
        client.models.start_canary("churn", 2, 0.2)
        polling = deployment._watch is not None
        return polling, await deployment.refresh(), (await http.get("/ready")).json()["canary"]

    polling, changed, ready = run(app, scenario)
    assert polling and changed == ["canary"]
    assert ready == {"model": "churn", "version": 2, "ref": "churn@2", "share": 0.2}


def test_a_server_started_during_a_canary_serves_it_from_the_first_request(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    client.models.start_canary("churn", 2, 0.3)
    app = create_app(client, options("churn@challenger"))
    during = run(app, lambda _deployment, http: versions_by_entity(http))
    assert during == [2 if on_canary(e, 0.3) else 1 for e in ENTITIES]


def test_a_new_share_of_the_same_version_is_applied_without_reloading(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    client.models.start_canary("churn", 2, 0.1)
    app = create_app(client, options("churn@challenger"))

    async def scenario(deployment: Any, http: httpx.AsyncClient) -> tuple[bool, list[str], float]:
        before = deployment.canary
        client.models.end_canary("churn", "stopped")
        client.models.start_canary("churn", 2, 0.4)
        changed = await deployment.refresh()
        return deployment.canary is before, changed, deployment.canary.share

    same_slot, changed, share = run(app, scenario)
    assert same_slot and changed == ["canary"] and share == 0.4


def test_the_canary_version_and_swaps_show_in_metrics(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    app = create_app(client, options("churn@challenger"))

    async def scenario(deployment: Any, http: httpx.AsyncClient) -> tuple[str, str]:
        client.models.start_canary("churn", 2, 0.1)
        await deployment.refresh()
        during = (await http.get("/metrics")).text
        client.models.end_canary("churn", "promoted")
        await deployment.refresh()
        return during, (await http.get("/metrics")).text

    during, after = run(app, scenario)
    canary_version = 'shipyard_model_version{model="churn",role="canary"} 2.0'
    assert canary_version in during and 'shipyard_model_swaps_total{role="canary"} 1.0' in during
    assert canary_version not in after


def test_a_fixed_deployment_ignores_registry_canaries(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    client.models.start_canary("churn", 2, 0.3)
    fixed = create_app(client, options("churn@challenger", follow_registry_canary=False))
    with_shadow = create_app(client, options("churn@challenger", shadow="churn@2"))
    for app in (fixed, with_shadow):
        changed = run(app, lambda deployment, _http: deployment.refresh())
        assert changed == [] and app.state.deployment.canary is None


def test_a_canary_of_the_version_the_server_already_serves_is_not_loaded_twice(
    client: shipyard.Client, models: list[LogisticRegression]
) -> None:
    client.models.start_canary("churn", 1, 0.3)  # churn@challenger is version 1
    app = create_app(client, options("churn@challenger"))
    assert run(app, lambda deployment, _http: deployment.refresh()) == []
    assert app.state.deployment.canary is None
