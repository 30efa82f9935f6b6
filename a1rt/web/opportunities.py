"""`GET /api/v2/opportunities` and `GET /api/v2/alerts`: what the alert engine holds now.

Opportunities are the open ones (value bets, arbitrage, middles), best edge first; `edge` is
the EV per unit staked (an arbitrage's guaranteed return). Alerts are the recent ones, newest
first, each `active` or `resolved`. Every bad filter is a 422 naming it.
"""

from __future__ import annotations

import math
from typing import Any, get_args

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from ..sources.provider import SPORTS
from ..store.records import OpportunityKind
from .predict import runtime_of
from .problems import Problem
from .responses import json_response

KINDS: tuple[str, ...] = get_args(OpportunityKind)
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
STATUSES = ("active", "resolved")
MAX_LIMIT = 1000


def _choice(name: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in choices:
        raise Problem(422, f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def _number(name: str, value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise Problem(422, f"{name}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise Problem(422, f"{name}: {value!r} is not a finite number")
    return number


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return 100
    try:
        limit = int(value)
    except ValueError:
        raise Problem(422, f"limit: {value!r} is not a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(422, f"limit: {limit} must be between 1 and {MAX_LIMIT}")
    return limit


def _shown(record: msgspec.Struct) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(record)
    body.pop("type", None)  # the msgpack tag
    return body


class OpportunitiesController(Controller):
    """The alert engine's open opportunities and recent alerts."""

    path = "/api/v2"
    tags = ["opportunities"]

    @get("/opportunities", summary="Open value bets, arbitrage and middles, best edge first")
    async def opportunities(
        self,
        request: Request[Any, Any, Any],
        sport: str | None = Parameter(default=None, description="e.g. basketball_nba"),
        kind: str | None = Parameter(default=None, description="value, arbitrage or middle"),
        min_edge: str | None = Parameter(
            default=None, description="least EV per unit staked (arbitrage: guaranteed return)"
        ),
        limit: str | None = Parameter(default=None, description=f"1 to {MAX_LIMIT}, default 100"),
    ) -> Response[bytes]:
        wanted_sport = _choice("sport", sport, SPORTS)
        wanted_kind = _choice("kind", kind, KINDS)
        least = _number("min_edge", min_edge)
        most = _limit(limit)
        shown = [
            _shown(r)
            for r in runtime_of(request).alert_engine.opportunities()
            if (wanted_sport is None or r.sport == wanted_sport)
            and (wanted_kind is None or r.kind == wanted_kind)
            and (least is None or r.edge >= least)
        ]
        return json_response({"opportunities": shown[:most], "count": len(shown)})

    @get("/alerts", summary="Recent alerts, newest first, each active or resolved")
    async def alerts(
        self,
        request: Request[Any, Any, Any],
        severity: str | None = Parameter(default=None, description="critical, warning or info"),
        status: str | None = Parameter(default=None, description="active or resolved"),
        kind: str | None = Parameter(default=None, description="e.g. steam, data_lag"),
        limit: str | None = Parameter(default=None, description=f"1 to {MAX_LIMIT}, default 100"),
    ) -> Response[bytes]:
        wanted_severity = _choice("severity", severity, SEVERITIES)
        wanted_status = _choice("status", status, STATUSES)
        most = _limit(limit)
        alerts = runtime_of(request).alert_engine.alerts()
        shown = [
            a.as_dict()
            for a in alerts
            if (wanted_severity is None or a.record.severity == wanted_severity)
            and (wanted_status is None or a.status == wanted_status)
            and (not kind or a.record.kind == kind)
        ]
        active = sum(1 for a in alerts if a.status == "active")
        return json_response({"alerts": shown[:most], "count": len(shown), "active": active})
