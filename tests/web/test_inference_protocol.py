from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from .test_predict import FEATURES, started

ROW = [FEATURES[f"x{i}"] for i in range(6)]


@pytest.fixture
async def client(trained_binary: Any, copy_models: Callable[[Any], Path], tmp_path: Path
                 ) -> AsyncIterator[httpx.AsyncClient]:  # fmt: skip
    async for client, _ in started(copy_models(trained_binary), tmp_path / "data"):
        yield client


@pytest.mark.anyio
async def test_oip_health_and_server_metadata(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v2/health/live")).json() == {"live": True}
    assert (await client.get("/v2/health/ready")).json() == {"ready": True}
    assert (await client.get("/v2")).json()["name"] == "a1rt"


@pytest.mark.anyio
async def test_oip_metadata_is_enough_to_build_a_request(client: httpx.AsyncClient) -> None:
    meta = (await client.get("/v2/models/test_h2h")).json()
    tensor = meta["inputs"][0]
    n_features = tensor["shape"][1]
    request = {
        "id": "r1",
        "inputs": [{"name": tensor["name"], "shape": [2, n_features],
                    "datatype": tensor["datatype"], "data": [ROW, ROW]}],
    }  # fmt: skip
    response = await client.post("/v2/models/test_h2h/infer", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "r1" and body["model_name"] == "test_h2h"
    assert body["model_version"] == meta["versions"][0]
    probabilities = body["outputs"][0]
    assert probabilities["name"] == "probabilities" and probabilities["shape"] == [2, 2]
    assert probabilities["data"][0] + probabilities["data"][1] == pytest.approx(1.0)
    assert body["parameters"]["outcomes"] == meta["parameters"]["outcomes"] == "home,away"


@pytest.mark.anyio
async def test_oip_flat_data_matches_nested_data(client: httpx.AsyncClient) -> None:
    def body(data: list[Any]) -> dict[str, Any]:
        return {"inputs": [{"name": "features", "shape": [1, 6], "datatype": "FP64",
                            "data": data}]}  # fmt: skip

    flat = (await client.post("/v2/models/test_h2h/infer", json=body(ROW))).json()
    nested = (await client.post("/v2/models/test_h2h/infer", json=body([ROW]))).json()
    assert flat["outputs"][0]["data"] == nested["outputs"][0]["data"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("inputs", "status", "fragment"),
    [
        ([{"name": "features", "shape": [1, 5], "datatype": "FP32", "data": ROW[:5]}], 400,
         "shape"),
        ([{"name": "x", "shape": [1, 6], "datatype": "FP32", "data": ROW}], 400, "features"),
        ([{"name": "features", "shape": [2, 6], "datatype": "FP32", "data": ROW}], 400, "values"),
        ([{"name": "features", "shape": [1, 6], "datatype": "FP32",
           "data": [99, 0, 0, 0, 0, 0]}], 422, "inputs[0].data[0].x0"),
        ([{"name": "features", "shape": [1, 6], "datatype": "TEXT", "data": ROW}], 422, "datatype"),
    ],
)  # fmt: skip
async def test_oip_bad_requests_carry_the_spec_error_member(
    client: httpx.AsyncClient, inputs: list[Any], status: int, fragment: str
) -> None:
    response = await client.post("/v2/models/test_h2h/infer", json={"inputs": inputs})
    assert response.status_code == status
    body = response.json()
    assert fragment in body["detail"]
    if status == 400:
        assert body["error"] == body["detail"]


@pytest.mark.anyio
async def test_oip_unknown_model_or_version_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v2/models/nope")).status_code == 404
    assert (await client.get("/v2/models/nope/ready")).status_code == 404
    assert (await client.get("/v2/models/test_h2h/versions/0/ready")).status_code == 404
    assert (await client.get("/v2/models/test_h2h/ready")).json() == {"name": "test_h2h",
                                                                       "ready": True}  # fmt: skip
