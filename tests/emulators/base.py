"""The shared part of the provider emulators: a local aiohttp server rendered from a simulated
World, with switchable faults.

Each provider's emulator subclasses `Emulator`, adds its routes in `routes()` and says how its
provider refuses a request in `refusal(status)`. `emulator.fault = Fault(...)` switches every
following request to that fault until it is set back to `None`; `fault.times` limits it to the
next N requests. The World runs in accelerated time from `start`, so tests step it by setting
`emulator.now` (wall-clock epoch seconds) rather than sleeping.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import anyio
import msgspec
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler

from a1rt.models.simulation.views import WorldState
from a1rt.models.simulation.world import World

FaultKind = Literal[
    "unauthorized",  # 401 with the provider's body
    "forbidden",  # 403 with the provider's body
    "unprocessable",  # 422
    "rate_limited",  # 429 with Retry-After
    "rate_limited_bare",  # 429 without Retry-After
    "server_error",  # 500 (or `status`)
    "slow",  # answer after `delay` seconds
    "truncated",  # a 200 whose JSON body is cut in half
    "garbage",  # a 200 whose body is not JSON
    "html",  # a 200 HTML error page (a proxy or WAF)
    "down",  # the connection is closed without an answer
]


@dataclass
class Fault:
    """One switchable fault; `times=None` lasts until it is cleared."""

    kind: FaultKind
    status: int | None = None
    delay: float = 2.0
    retry_after: float = 1.0
    times: int | None = None


class Emulator:
    """A provider emulator on 127.0.0.1; use `async with Emulator(...) as emu:` then `emu.url`."""

    name = "emulator"

    def __init__(
        self,
        sports: tuple[str, ...] = ("basketball_nba",),
        *,
        seed: int = 11,
        speed: float = 60.0,
        start: float | None = None,
        worlds: dict[str, World] | None = None,
    ) -> None:
        """One World per sport from `seed`, `start` and `speed`, or, to reuse Worlds whose
        seasons are already built, the sports' Worlds of `worlds`."""
        self.start = time.time() if start is None else start
        if worlds is not None:
            self.worlds = {sport: worlds[sport] for sport in sports}
        else:
            self.worlds = {sport: World(seed, sport, self.start, speed) for sport in sports}
        self.now: float | None = None  # None: the wall clock
        self.fault: Fault | None = None
        self.hits: Counter[str] = Counter()
        self.user_agents: list[str] = []
        self._server: TestServer | None = None

    # --- what a subclass provides ---------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def refusal(self, status: int) -> web.Response:
        """The provider's own body for a refused request with this status."""
        return web.json_response({"message": f"emulated {status}"}, status=status)

    def authorised(self, request: web.Request) -> bool:
        """Whether the request carries what the provider needs (no auth by default)."""
        return True

    # --- the World ------------------------------------------------------------------------

    def state(self, sport: str) -> WorldState:
        """What the World shows now for `sport`."""
        moment = time.time() if self.now is None else self.now
        return self.worlds[sport].state_at(moment)

    # --- the server -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the emulator first"
        return str(self._server.make_url("")).rstrip("/")

    async def __aenter__(self) -> Emulator:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(self.routes())
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.close()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.hits[request.path] += 1
        self.user_agents.append(request.headers.get("User-Agent", ""))
        fault = self._take_fault()
        if fault is not None:
            return await self._apply(fault, request, handler)
        if not self.authorised(request):
            return self.refusal(401)
        return await handler(request)

    def _take_fault(self) -> Fault | None:
        fault = self.fault
        if fault is None:
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.fault = None
        return fault

    async def _apply(
        self, fault: Fault, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        kind = fault.kind
        if kind == "unauthorized":
            return self.refusal(fault.status or 401)
        if kind == "forbidden":
            return self.refusal(fault.status or 403)
        if kind == "unprocessable":
            return self.refusal(fault.status or 422)
        if kind == "rate_limited":
            response = self.refusal(429)
            response.headers["Retry-After"] = f"{fault.retry_after:g}"
            return response
        if kind == "rate_limited_bare":
            return self.refusal(429)
        if kind == "server_error":
            return web.json_response({"message": "emulated failure"}, status=fault.status or 500)
        if kind == "slow":
            await anyio.sleep(fault.delay)
            return await handler(request)
        if kind == "down":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if kind == "html":
            return web.Response(
                text="<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                content_type="text/html",
            )
        body = await _body_of(await handler(request))
        if kind == "truncated":
            return web.Response(
                body=body[: max(1, len(body) // 2)], content_type="application/json"
            )
        return web.Response(body=b"\x00\xffnot json{{", content_type="application/json")


def alias(team: str) -> str:
    """A team's three-letter abbreviation from its initials ("Golden State Warriors" -> "GSW")."""
    return "".join(word[0] for word in team.split()).upper()[:3]


def iso(moment: float) -> str:
    """Epoch seconds as an ISO 8601 UTC time to the second ("2026-12-01T17:00:00+00:00")."""
    return datetime.fromtimestamp(int(moment), UTC).isoformat()


async def _body_of(response: web.StreamResponse) -> bytes:
    if isinstance(response, web.Response) and isinstance(response.body, bytes):
        return response.body
    return msgspec.json.encode({})
