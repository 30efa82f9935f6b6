"""Predict request bodies: decoded with msgspec and checked against the model's feature schema.

Every problem names its field (`features.home_rating`, `requests[2].model`), so a bot can fix
the request without reading our code.
"""

from __future__ import annotations

import math
import re
from typing import Any, TypeVar, cast

import msgspec
from litestar import Request
from litestar.exceptions import InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import HTTPReceiveMessage, Receive

from ..models import FeatureSpec
from .problems import Problem

MAX_BATCH = 1000
MAX_BODY_BYTES = 1_000_000  # every route's request_max_body_size (the app's and predict's)
T = TypeVar("T")
_KEY = re.compile(r"\['([^']*)'\]")  # msgspec's $.features['x0'] -> features.x0


class PredictBody(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v2/predict`: a model and its features (or, later, an event id)."""

    model: str | None = None
    # Values are checked against the model's schema by feature_row, which names the feature
    # (msgspec reports a bad dict value as `features[...]`, without the key).
    features: dict[str, Any] | None = None
    event_id: str | None = None
    explain: bool = False


class BatchBody(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v2/predict/batch`: up to MAX_BATCH predict bodies."""

    requests: list[PredictBody]


class FieldError(msgspec.Struct):
    """One thing wrong with a request, and where."""

    field: str
    message: str


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}  # built once per type


async def read(request: Request[Any, Any, Any], kind: type[T]) -> T:
    """The request's JSON body as `kind` (see `decode`), read straight off ASGI `receive`:
    Litestar's `Request.body` first builds a header multidict for Content-Length, ~20 µs a
    request on this machine. Over the route's `request_max_body_size`: 413, as Litestar's."""
    limit = request.route_handler.resolve_request_max_body_size() or MAX_BODY_BYTES
    return decode(await read_body(request.receive, limit), kind)


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body off ASGI `receive`; 413 past `limit` bytes, as Litestar answers."""
    chunks: list[bytes] = []
    size = 0
    while True:
        event = cast("HTTPReceiveMessage", await receive())
        if event["type"] == "http.disconnect":
            raise InternalServerException("client disconnected prematurely")
        chunk: bytes = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not event.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode(body: bytes, kind: type[T]) -> T:
    """Decode `body` as `kind`: 400 if it is not JSON, 422 naming the field if it does not fit."""
    try:
        decoder = _decoders.get(kind) or _decoders.setdefault(kind, msgspec.json.Decoder(kind))
        result: T = decoder.decode(body)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$")
        field = _KEY.sub(r".\1", where.rstrip("`")).lstrip(".") or "body"
        raise invalid([FieldError(field, message)]) from exc
    except msgspec.DecodeError as exc:
        raise Problem(400, f"the body is not valid JSON: {exc}") from exc
    return result


def invalid(errors: list[FieldError]) -> Problem:
    """A 422 whose detail names the first bad field and whose `errors` lists them all."""
    first = errors[0]
    return Problem(
        422,
        f"{first.field}: {first.message}",
        errors=[{"field": e.field, "message": e.message} for e in errors],
    )


def feature_row(
    specs: tuple[FeatureSpec, ...], features: dict[str, Any], prefix: str = "features"
) -> tuple[tuple[float, ...], list[FieldError]]:
    """The features in schema order, and every way they break the schema."""
    errors: list[FieldError] = []
    row: list[float] = []
    present = 0
    for spec in specs:
        if spec.name not in features:
            problem = f"missing ({spec.type} in [{spec.min}, {spec.max}])"
            value = math.nan
        else:
            present += 1
            value, problem = _check(spec, features[spec.name])
        if problem:
            errors.append(FieldError(f"{prefix}.{spec.name}", problem))
        row.append(value)
    if len(features) > present:  # some name is not the model's
        known = {spec.name for spec in specs}
        errors.extend(
            FieldError(f"{prefix}.{name}", "unknown feature for this model")
            for name in features
            if name not in known
        )
    return tuple(row), errors


def _check(spec: FeatureSpec, value: Any) -> tuple[float, str]:
    kind = type(value)  # the usual case first: a number in range (NaN and inf fail the range)
    if (kind is float and spec.type == "float") or (kind is int and spec.type != "bool"):
        number = float(value)
        if spec.min <= number <= spec.max:
            return number, ""
    if not isinstance(value, int | float):  # bool is an int
        return math.nan, f"expected a {_KIND[spec.type]}, got {_json_type(value)}"
    if spec.type == "bool":
        if isinstance(value, bool) or value in (0, 1):
            return float(value), ""
        return math.nan, f"expected true or false, got {value!r}"
    if isinstance(value, bool):
        return math.nan, f"expected a {_KIND[spec.type]}, got {str(value).lower()}"
    number = float(value)
    if not math.isfinite(number):
        return math.nan, "must be a finite number"
    if spec.type == "int" and not number.is_integer():
        return number, f"expected an integer, got {value!r}"
    if not spec.min <= number <= spec.max:
        return number, f"{value!r} is outside [{spec.min}, {spec.max}]"
    return number, ""


_KIND = {"float": "number", "int": "integer", "bool": "boolean"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"a string ({value[:20]!r})"
    return "an array" if isinstance(value, list) else "an object"
