from __future__ import annotations

import gc
import shutil
import weakref
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from a1rt.config import load_settings
from a1rt.pipeline import Runtime
from a1rt.web import create_app

Client = httpx.AsyncClient
FEATURES = {f"x{i}": 0.1 * i for i in range(6)}
BODY = {"model": "test_h2h", "features": FEATURES}


async def started(models_dir: Path, data_dir: Path) -> AsyncIterator[tuple[Client, Runtime]]:
    """The app and its runtime in this test's event loop (Litestar's test client would run them
    on a portal thread, one blocking request at a time, which hides concurrency)."""
    settings = load_settings({}, models_dir=models_dir, data_dir=data_dir, model_poll_interval=0.1)
    runtime = Runtime(settings, live=False)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with anyio.create_task_group() as tg:
        await tg.start(runtime.run)
        async with httpx.AsyncClient(transport=transport, base_url="http://a1rt.test") as client:
            with anyio.fail_after(60):
                while (await client.get("/health/ready")).status_code != 200:
                    await anyio.sleep(0.05)
            yield client, runtime
        runtime.request_stop()


@pytest.fixture
async def served(trained_binary: Any, copy_models: Callable[[Any], Path], tmp_path: Path
                 ) -> AsyncIterator[tuple[Client, Runtime]]:  # fmt: skip
    async for pair in started(copy_models(trained_binary), tmp_path / "data"):
        yield pair


@pytest.fixture
async def client(served: tuple[Client, Runtime]) -> Client:
    return served[0]


@pytest.mark.anyio
async def test_predict_returns_probabilities_confidence_and_members(client: Client) -> None:
    response = await client.post(
        "/api/v2/predict", json={"model": "test_h2h", "features": FEATURES}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"prediction_id", "model", "version", "probabilities", "confidence",
                         "members"}  # fmt: skip
    assert body["model"] == "test_h2h"
    assert set(body["probabilities"]) == {"home", "away"}
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-9)
    assert 0.0 <= body["confidence"] <= 1.0
    assert len(body["members"]) == 4
    for member in body["members"].values():
        assert sum(member.values()) == pytest.approx(1.0, abs=1e-6)
    assert "explanation" not in body


@pytest.mark.anyio
async def test_predict_explain_contributions_add_up_to_the_explained_value(client: Client) -> None:
    response = await client.post(
        "/api/v2/predict", json={"model": "test_h2h", "features": FEATURES, "explain": True}
    )
    assert response.status_code == 200, response.text
    explanation = response.json()["explanation"]
    assert set(explanation["contributions"]) == set(FEATURES)
    total = explanation["base_value"] + sum(explanation["contributions"].values())
    assert total == pytest.approx(explanation["value"], abs=1e-3)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("features", "field"),
    [
        ({k: v for k, v in FEATURES.items() if k != "x3"}, "features.x3"),
        ({**FEATURES, "x9": 1.0}, "features.x9"),
        ({**{k: v for k, v in FEATURES.items() if k != "x3"}, "x9": 1.0}, "features.x3"),
        ({**FEATURES, "x0": "high"}, "features.x0"),
        ({**FEATURES, "x1": True}, "features.x1"),
        ({**FEATURES, "x2": 99.0}, "features.x2"),
    ],
)
async def test_predict_bad_features_get_422_naming_the_field(
    client: Client, features: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/api/v2/predict", json={"model": "test_h2h", "features": features}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["detail"].startswith(field)
    assert body["errors"][0]["field"] == field
    unknown = {f"features.{name}" for name in features if name not in FEATURES}
    assert unknown <= {e["field"] for e in body["errors"]}  # a renamed feature: both named


@pytest.mark.anyio
async def test_predict_non_finite_number_gets_422(client: Client) -> None:
    # JSON has no NaN; an overflowing literal is the closest a client can send.
    raw = b'{"model": "test_h2h", "features": {"x0": 1e400, "x1": 0, "x2": 0, "x3": 0, "x4": 0}}'
    response = await client.post("/api/v2/predict", content=raw)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"].startswith("features") and "range" in error["message"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("raw", "status", "start"),
    [
        (b"{not json", 400, "the body is not valid JSON"),
        (b'{"features": {}}', 422, "model: required"),
        (b'{"model": "test_h2h"}', 422, "features: required"),
        (b'{"model": "nope", "features": {}}', 404, "model: unknown model 'nope'"),
        (b'{"model": "test_h2h", "features": {}, "colour": 1}', 422, "colour"),
        (b"[]", 422, "body"),
    ],
)
async def test_predict_bad_bodies_get_clear_problems(
    client: Client, raw: bytes, status: int, start: str
) -> None:
    response = await client.post("/api/v2/predict", content=raw)
    assert response.status_code == status
    assert response.json()["status"] == status
    assert start in response.json()["detail"]


@pytest.mark.anyio
async def test_predict_route_answers_other_methods_as_litestar_routes_do(client: Client) -> None:
    wrong = await client.get("/api/v2/predict")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.headers["allow"] == "OPTIONS, POST"
    assert "GET is not allowed" in wrong.json()["detail"]
    listing = await client.options("/api/v2/predict")
    assert (listing.status_code, listing.headers["allow"]) == (204, "OPTIONS, POST")
    assert (await client.get("/api/v2/predict/batch")).status_code == 405  # a Litestar route


@pytest.mark.anyio
async def test_predict_body_over_the_limit_gets_413_whether_streamed_or_not(client: Client) -> None:
    big = b'{"model": "test_h2h", "features": {"x0": "' + b"a" * 1_000_000 + b'"}}'

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    for content in (big, chunks()):
        response = await client.post("/api/v2/predict", content=content)
        assert response.status_code == 413
        assert response.json()["status"] == 413
    small = await client.post("/api/v2/predict", json=BODY)  # and the service carries on
    assert small.status_code == 200


@pytest.mark.anyio
async def test_predict_is_in_the_openapi_document_with_its_body_and_answer(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v2/predict"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PredictBody"}
    answer = schema["components"]["schemas"]["Prediction"]
    assert {"probabilities", "confidence", "members", "explanation"} <= set(answer["properties"])
    assert "type" not in answer["properties"]  # the message tag is not in the response
    assert set(schema["components"]["schemas"]["PredictBody"]["properties"]) == {
        "model", "features", "event_id", "explain"}  # fmt: skip
    assert {"200", "401", "422", "429", "503"} <= set(operation["responses"])
    assert "/api/v2/predict/batch" in schema["paths"]  # Litestar's own routes are still there


@pytest.mark.anyio
async def test_predict_batch_answers_in_order_and_names_a_bad_item(client: Client) -> None:
    requests = [{"model": "test_h2h", "features": {**FEATURES, "x0": x}} for x in (-2.0, 0.0, 2.0)]
    response = await client.post("/api/v2/predict/batch", json={"requests": requests})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 3
    homes = [r["probabilities"]["home"] for r in results]
    assert homes == sorted(homes)  # x0 raises the true home log-odds
    requests[1]["features"] = {**FEATURES, "x0": "?"}
    bad = await client.post("/api/v2/predict/batch", json={"requests": requests})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "requests[1].features.x0"


@pytest.mark.anyio
async def test_models_list_and_manifest_with_feature_schema(client: Client) -> None:
    listing = (await client.get("/api/v2/models")).json()["models"]
    assert [m["name"] for m in listing] == ["test_h2h"]
    manifest = (await client.get("/api/v2/models/test_h2h")).json()
    assert manifest["features"][0] == {"name": "x0", "type": "float", "min": -8.0, "max": 8.0}
    assert manifest["outcomes"] == ["home", "away"]
    assert (await client.get("/api/v2/models/nope")).status_code == 404


@pytest.mark.anyio
async def test_models_reload_refuses_a_corrupt_artifact_and_keeps_serving(
    served: tuple[Client, Runtime], trained_binary: Any
) -> None:
    client, runtime = served
    old = runtime.models.get("test_h2h").version
    models_dir = runtime.settings.models_dir
    broken = models_dir / "test_h2h" / "99999999-999999"
    shutil.copytree(models_dir / "test_h2h" / old, broken)
    member = next(p for p in broken.iterdir() if p.suffix in {".json", ".txt", ".ubj"}
                  and p.name != "manifest.json")  # fmt: skip
    member.write_bytes(member.read_bytes()[:100])
    response = await client.post("/api/v2/models/test_h2h/reload")
    assert response.status_code == 409
    body = response.json()
    assert body["serving_version"] == old and body["refused_version"] == "99999999-999999"
    after = await client.post("/api/v2/predict", json=BODY)
    assert after.status_code == 200 and after.json()["version"] == old


@pytest.mark.anyio
async def test_models_reload_during_a_stream_of_predictions_never_fails_or_mixes(
    served: tuple[Client, Runtime], trained_binary: Any, train_newer: Callable[[Any, Path], str]
) -> None:
    client, runtime = served
    old = runtime.models.get("test_h2h").version
    new = await anyio.to_thread.run_sync(train_newer, trained_binary, runtime.settings.models_dir)
    versions: list[str] = []
    failures: list[str] = []
    reloaded = anyio.Event()

    async def stream() -> None:
        after = 0
        while after < 20:  # keep predicting through the reload and a little past it
            r = await client.post(
                "/api/v2/predict", json={"model": "test_h2h", "features": FEATURES}
            )
            if r.status_code != 200:
                failures.append(r.text)
            else:
                versions.append(r.json()["version"])
            after += reloaded.is_set()

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            tg.start_soon(stream)
            tg.start_soon(stream)
            await anyio.sleep(0.05)
            reload = await client.post("/api/v2/models/test_h2h/reload")
            reloaded.set()
            assert reload.status_code == 200 and reload.json()["version"] == new
    assert failures == []
    assert set(versions) <= {old, new} and versions[-1] == new
    assert versions.index(new) > 0  # the old version answered before the swap


class _Node:
    """A weak-referenceable object, for a reference cycle."""

    partner: _Node


def _collector_sees(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())  # frozen objects are in no generation


@pytest.mark.anyio
async def test_models_loaded_are_frozen_from_the_collector_and_a_reload_collects_what_it_left(
    served: tuple[Client, Runtime], trained_binary: Any, train_newer: Callable[[Any, Path], str]
) -> None:
    client, runtime = served
    loaded = runtime.models.get("test_h2h")
    assert gc.is_tracked(loaded) and not _collector_sees(loaded)  # ready: already frozen
    cycle = _Node()
    cycle.partner = cycle  # garbage only the collector can free, frozen with the rest
    gc.freeze()
    left = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert left() is not None  # frozen: out of the collector's reach
    new = await anyio.to_thread.run_sync(train_newer, trained_binary, runtime.settings.models_dir)
    reload = await client.post("/api/v2/models/test_h2h/reload")
    assert reload.status_code == 200 and reload.json()["version"] == new
    assert left() is None  # the reload collected what had become garbage
    reloaded = runtime.models.get("test_h2h")
    assert reloaded.version == new and not _collector_sees(reloaded)


@pytest.mark.anyio
async def test_models_new_version_on_disk_is_picked_up_without_a_request(
    served: tuple[Client, Runtime], trained_binary: Any, train_newer: Callable[[Any, Path], str]
) -> None:
    client, runtime = served
    new = await anyio.to_thread.run_sync(train_newer, trained_binary, runtime.settings.models_dir)
    info = f'a1rt_model_info{{backend="tl2cgen",model="test_h2h",version="{new}"}} 1.0'
    with anyio.fail_after(60):  # the registry swaps in its thread; the gauge follows on the loop
        while info not in (await client.get("/metrics")).text:
            await anyio.sleep(0.05)
    assert runtime.models.get("test_h2h").version == new
