"""JSON responses encoded by msgspec (datetimes, structs and Decimals as the API shows them)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response

_encoder = msgspec.json.Encoder()


def json_response(body: Any, status: int = 200) -> Response[bytes]:
    """`body` as an application/json response."""
    return Response(_encoder.encode(body), status_code=status, media_type="application/json")
