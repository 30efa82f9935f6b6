"""The Open Inference Protocol (KServe V2) REST routes, so existing OIP clients work unchanged.

A model takes one input tensor, `features`, shaped [-1, n_features] in the order of its schema,
and returns `probabilities` [-1, n_outcomes] (columns in the order of `parameters.outcomes`) and
`confidence` [-1]. Errors are problem+json with the spec's `error` member as well.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from .. import __version__
from ..messages import PredictRequest
from ..models import LoadedModel, ModelNotFound
from .predict import runtime_of, score_many
from .predict_body import feature_row, invalid, read
from .problems import Problem

INPUT = "features"
Datatype = Literal[
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64",
]  # fmt: skip
MAX_ROWS = 1000


class InferInput(msgspec.Struct):
    """One input tensor; `data` is row-major, flat or nested."""

    name: str
    shape: list[int]
    datatype: Datatype
    data: list[Any]
    parameters: dict[str, Any] | None = None


class InferRequest(msgspec.Struct):
    """`POST /v2/models/{name}/infer`."""

    inputs: list[InferInput]
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[dict[str, Any]] | None = None


def _oip_problem(status: int, detail: str) -> Problem:
    return Problem(status, detail, error=detail)


def _model(request: Request[Any, Any, Any], name: str, version: str | None) -> LoadedModel:
    try:
        model = runtime_of(request).models.get(name)
    except ModelNotFound as exc:
        raise _oip_problem(404, f"model {name!r} is not loaded") from exc
    if version is not None and version != model.version:
        raise _oip_problem(404, f"model {name!r} serves version {model.version}, not {version}")
    return model


def metadata(model: LoadedModel) -> dict[str, Any]:
    """The model metadata response: enough to build a request from it alone."""
    n_features, n_outcomes = len(model.feature_names), len(model.outcomes)
    return {
        "name": model.name,
        "versions": [model.version],
        "platform": "a1rt_treelite_ensemble",
        "inputs": [{"name": INPUT, "datatype": "FP32", "shape": [-1, n_features]}],
        "outputs": [
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, n_outcomes]},
            {"name": "confidence", "datatype": "FP64", "shape": [-1]},
        ],
        "parameters": {
            "feature_names": ",".join(model.feature_names),
            "outcomes": ",".join(model.outcomes),
        },
    }


def _rows(model: LoadedModel, body: InferRequest) -> list[dict[str, Any]]:
    if len(body.inputs) != 1 or body.inputs[0].name != INPUT:
        raise _oip_problem(400, f"expected exactly one input named {INPUT!r}")
    tensor = body.inputs[0]
    n_features = len(model.feature_names)
    if len(tensor.shape) != 2 or tensor.shape[1] != n_features or not 1 <= tensor.shape[0]:
        raise _oip_problem(400, f"inputs[0].shape must be [n, {n_features}], got {tensor.shape}")
    if tensor.shape[0] > MAX_ROWS:
        raise _oip_problem(400, f"at most {MAX_ROWS} rows per request")
    flat = _flatten(tensor.data)
    if len(flat) != tensor.shape[0] * n_features:
        raise _oip_problem(400, f"inputs[0].data has {len(flat)} values for shape {tensor.shape}")
    if not all(isinstance(v, int | float) for v in flat):
        raise _oip_problem(400, "inputs[0].data must hold numbers only")
    names = model.feature_names
    return [
        dict(zip(names, flat[r * n_features : (r + 1) * n_features], strict=True))
        for r in range(tensor.shape[0])
    ]


def _flatten(data: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


class InferenceProtocol(Controller):
    """`/v2`: server and model health, metadata, inference."""

    path = "/v2"
    tags = ["open inference protocol"]

    @get("/", summary="Server metadata")
    async def server_metadata(self) -> dict[str, Any]:
        return {"name": "a1rt", "version": __version__, "extensions": []}

    @get("/health/live", summary="Server liveness")
    async def live(self) -> dict[str, bool]:
        return {"live": True}

    @get("/health/ready", summary="Server readiness")
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, bool]]:
        ready = runtime_of(request).health.ready()
        return Response({"ready": ready}, status_code=200 if ready else 503)

    @get(["/models/{name:str}", "/models/{name:str}/versions/{version:str}"],
         summary="Model metadata")  # fmt: skip
    async def model_metadata(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        version: FromPath[str | None] = None,
    ) -> dict[str, Any]:
        return metadata(_model(request, name, version))

    @get(["/models/{name:str}/ready", "/models/{name:str}/versions/{version:str}/ready"],
         summary="Model readiness")  # fmt: skip
    async def model_ready(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        version: FromPath[str | None] = None,
    ) -> dict[str, Any]:
        _model(request, name, version)
        return {"name": name, "ready": True}

    @post(["/models/{name:str}/infer", "/models/{name:str}/versions/{version:str}/infer"],
          status_code=200, summary="Inference")  # fmt: skip
    async def infer(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        version: FromPath[str | None] = None,
    ) -> dict[str, Any]:
        runtime = runtime_of(request)
        model = _model(request, name, version)
        body = await read(request, InferRequest)
        rows = _rows(model, body)
        asks = []
        for r, features in enumerate(rows):
            row, errors = feature_row(model.manifest.features, features, f"inputs[0].data[{r}]")
            if errors:
                raise invalid(errors)
            asks.append(row)
        try:
            scored = await score_many(runtime, [PredictRequest(model=name, row=r) for r in asks])
        except Problem as exc:
            raise _oip_problem(exc.status_code, str(exc.detail)) from exc
        if any(s.model.version != scored[0].model.version for s in scored):
            raise _oip_problem(503, "the model was reloaded mid-request; retry")  # never mixed
        k = len(model.outcomes)
        outcomes = scored[0].model.outcomes
        probabilities = [s.prediction.probabilities[o] for s in scored for o in outcomes]
        return {
            "model_name": name,
            "model_version": scored[0].model.version,
            "id": body.id or request.headers.get("x-request-id", ""),
            "parameters": {"outcomes": ",".join(outcomes)},
            "outputs": [
                {"name": "probabilities", "datatype": "FP64", "shape": [len(scored), k],
                 "data": probabilities},
                {"name": "confidence", "datatype": "FP64", "shape": [len(scored)],
                 "data": [s.prediction.confidence for s in scored]},
            ],
        }  # fmt: skip
