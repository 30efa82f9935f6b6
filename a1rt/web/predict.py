"""`POST /api/v2/predict` and `POST /api/v2/predict/batch`."""

from __future__ import annotations

from typing import Any, cast

import anyio
import msgspec
from litestar import Request, Response, asgi, post
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    PathItem,
    Reference,
    RequestBody,
)
from litestar.types import HTTPResponseStartEvent, HTTPScope, Receive, Send

from actors import ActorError, AskTimeout

from ..messages import Prediction, PredictRequest
from ..models import ModelError, ModelNotFound
from ..pipeline import Runtime
from ..pipeline.live_features import clipped_row
from ..pipeline.predictor import Scored
from .auth import authorize_scope
from .predict_body import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    BatchBody,
    FieldError,
    PredictBody,
    decode,
    feature_row,
    invalid,
    read,
    read_body,
)
from .problems import PROBLEM_JSON, Problem

_encode = msgspec.json.Encoder().encode
_JSON = [(b"content-type", b"application/json")]
_METHODS = ("OPTIONS", "POST")  # what the lean route answers (opt: for the route table test)
_ALLOW = ", ".join(_METHODS)
ASK_TIMEOUT = 5.0


def runtime_of(request: Request[Any, Any, Any]) -> Runtime:
    """The Runtime the app was built around."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def to_request(runtime: Runtime, body: PredictBody, where: str = "") -> PredictRequest:
    """Check a body against its model's schema; a Problem names every bad field. With an
    `event_id` and no `features`, the live feature cache supplies them (the model defaults to
    the event's sport's h2h model)."""
    event = None
    if body.event_id is not None and body.features is None:
        event = runtime.feature_cache.find(body.event_id)
        if event is None:
            raise Problem(404, f"{where}event_id: no live event {body.event_id!r}")
    name = body.model if body.model is not None or event is None else f"{event.sport}_h2h"
    if name is None:
        raise invalid([FieldError(f"{where}model", "required (or give an event_id)")])
    try:
        model = runtime.models.get(name)
    except ModelNotFound as exc:
        known = ", ".join(runtime.models.names()) or "none loaded yet"
        raise Problem(404, f"{where}model: unknown model {name!r} (known: {known})") from exc
    if event is not None:
        vector = event.features.get(name)
        if vector is None:
            raise Problem(409, f"{where}event_id: no {name} features for {event.event_id} yet "
                          "(its market is not priced yet, or it is over)")  # fmt: skip
        row = clipped_row(model.manifest.features, vector.features)
        return PredictRequest(model=name, row=row, event_id=event.event_id)
    if body.features is None:
        raise invalid([FieldError(f"{where}features", "required (or give an event_id)")])
    row, errors = feature_row(model.manifest.features, body.features, f"{where}features")
    if errors:
        raise invalid(errors)
    return PredictRequest(model=name, row=row, event_id=body.event_id)


async def score(runtime: Runtime, request: PredictRequest) -> Scored:
    """Ask the predictor, translating its failures into problems."""
    try:
        return await runtime.predictor.predict(request, timeout=ASK_TIMEOUT)
    except AskTimeout as exc:
        raise Problem(503, "the predictor is overloaded; retry shortly",
                      headers={"Retry-After": "1"}) from exc  # fmt: skip
    except ModelNotFound as exc:
        raise Problem(404, str(exc)) from exc
    except (ModelError, ActorError) as exc:
        raise Problem(503, f"prediction failed: {exc}") from exc


async def score_many(runtime: Runtime, requests: list[PredictRequest]) -> list[Scored]:
    """Score concurrently, so the predictor batches them; the first failure is raised."""
    results: list[Scored | None] = [None] * len(requests)
    failures: list[Problem] = []

    async def one(i: int) -> None:
        try:
            results[i] = await score(runtime, requests[i])
        except Problem as exc:  # kept, not raised: a task group would wrap it in a group
            failures.append(exc)

    async with anyio.create_task_group() as tg:
        for i in range(len(requests)):
            tg.start_soon(one, i)
    if failures:
        raise failures[0]
    return [r for r in results if r is not None]


async def render(runtime: Runtime, scored: Scored, explain: bool) -> dict[str, Any]:
    """The response body of one prediction, with its explanation when asked."""
    body: dict[str, Any] = msgspec.structs.asdict(scored.prediction)
    if explain:
        explanation = await runtime.predictor.explain(scored)
        body["explanation"] = {
            "outcome": explanation.outcome[0],
            "scale": explanation.scale,
            "base_value": float(explanation.base_value[0]),
            "value": float(explanation.value[0]),
            "contributions": explanation.row(0),
            "members": list(explanation.members),
        }
    return body


@asgi("/api/v2/predict", is_mount=False, copy_scope=False, opt={"methods": _METHODS})
async def predict(scope: HTTPScope, receive: Receive, send: Send) -> None:
    """Body: `{"model": "basketball_nba_h2h", "features": {...}, "explain": false}` (`_BODY`).

    The bots' hot path, so a lean ASGI route: Litestar's request and response objects, kwargs
    and signature model were ~20% of a prediction's server CPU here (`python -m bench rest`).
    What wraps every route still wraps this one (routing, CORS, problem+json errors, the request
    id and metrics); the scope check and the body limit are the same functions the other routes
    use."""
    if scope["method"] != "POST":
        await _not_post(scope, send)
        return
    app = scope["litestar_app"]
    runtime: Runtime = app.state.runtime
    await authorize_scope(scope, app.state.access)
    body = decode(await read_body(receive), PredictBody)
    scored = await score(runtime, to_request(runtime, body))
    await _answer(send, 200, _JSON, _encode(await render(runtime, scored, body.explain)))


def document_predict(openapi: OpenAPI) -> None:
    """Add `POST /api/v2/predict` to the app's OpenAPI document, which Litestar builds from its
    HTTP routes only: the body is `PredictBody`, the answer a `Prediction` (without its message
    tag) and, when asked, its `explanation`."""
    ref = "#/components/schemas/{name}"
    (body, _), components = msgspec.json.schema_components(
        (PredictBody, Prediction), ref_template=ref
    )
    answer = components["Prediction"]
    answer["properties"].pop("type")  # the message tag: not part of the response body
    answer["required"].remove("type")
    answer["properties"]["explanation"] = {
        "type": "object",
        "description": "With `explain: true`: each feature's contribution to the log-odds.",
    }
    openapi.components.schemas.update(components)
    json = OpenAPIMediaType(schema=cast("Any", body))
    result = OpenAPIMediaType(schema=cast("Any", {"$ref": ref.format(name="Prediction")}))
    responses: dict[str, OpenAPIResponse | Reference] = {
        "200": OpenAPIResponse("The prediction", content={"application/json": result})
    }
    for status, meaning in _PROBLEMS.items():
        problem = OpenAPIMediaType(schema=cast("Any", {"type": "object"}))
        responses[str(status)] = OpenAPIResponse(meaning, content={PROBLEM_JSON: problem})
    openapi.paths = {**(openapi.paths or {}), "/api/v2/predict": PathItem(post=Operation(
        tags=["predict"], summary="Predict one event's outcome probabilities",
        description=_BODY, operation_id="ApiV2PredictPredict",
        request_body=RequestBody(content={"application/json": json}, required=True),
        responses=responses,
    ))}  # fmt: skip


_BODY = 'Body: `{"model": "basketball_nba_h2h", "features": {...}, "explain": false}`.'
_PROBLEMS = {
    400: "The body is not JSON",
    401: "No API key, or an unknown or revoked one",
    403: "The key lacks the predict scope",
    404: "Unknown model, or no live event with that id",
    413: f"The body is over {MAX_BODY_BYTES:,} bytes",
    422: "A field does not fit the model's schema; `errors` names each",
    429: "Over the key's rate limit; see Retry-After",
    503: "The predictor is overloaded or failed; retry",
}


async def _not_post(scope: HTTPScope, send: Send) -> None:
    """OPTIONS lists the methods (as Litestar's routes answer it); anything else is a 405."""
    if scope["method"] != "OPTIONS":
        raise Problem(405, f"{scope['method']} is not allowed here; use POST",
                      headers={"Allow": _ALLOW})  # fmt: skip
    await _answer(send, 204, [(b"allow", _ALLOW.encode())], b"")


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", b"%d" % len(body))]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status,
                                     "headers": headers}  # fmt: skip
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


@post("/api/v2/predict/batch", tags=["predict"], status_code=200,
      summary=f"Predict up to {MAX_BATCH} requests at once")  # fmt: skip
async def predict_batch(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Body: `{"requests": [predict body, ...]}`; answers `{"results": [...]}` in order."""
    runtime = runtime_of(request)
    batch = await read(request, BatchBody)
    if not 1 <= len(batch.requests) <= MAX_BATCH:
        raise invalid([FieldError("requests", f"between 1 and {MAX_BATCH} requests")])
    asks = [to_request(runtime, body, f"requests[{i}].") for i, body in enumerate(batch.requests)]
    scored = await score_many(runtime, asks)
    results = [
        await render(runtime, one, body.explain)
        for one, body in zip(scored, batch.requests, strict=True)
    ]
    return Response(_encode({"results": results}), media_type="application/json")
