"""Each component's health, and whether the service is ready to serve."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """How a component is doing; the service is as healthy as its worst component."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


_RANK = {Status.OK: 0, Status.DEGRADED: 1, Status.DOWN: 2}


@dataclass(slots=True)
class Component:
    """One component's latest report."""

    status: Status
    detail: str
    since: float
    needed_for_ready: bool
    was_ready: bool = False


class HealthRegistry:
    """Components report here; `/health` and `/health/ready` read from here."""

    def __init__(self) -> None:
        self._components: dict[str, Component] = {}

    def register(self, name: str, *, needed_for_ready: bool = True, detail: str = "") -> None:
        """Add a component that is down until it reports otherwise."""
        self._components[name] = Component(
            Status.DOWN, detail or "starting", time.time(), needed_for_ready
        )

    def report(
        self, name: str, status: Status, detail: str = "", *, ready: bool | None = None
    ) -> None:
        """Record `name`'s status; it counts as ready from the first report that is OK (or
        that says `ready=True`, e.g. degraded but serving) onwards."""
        component = self._components.get(name)
        if component is None:
            self.register(name, needed_for_ready=False)
            component = self._components[name]
        if component.status is not status:
            component.since = time.time()
        component.status, component.detail = status, detail
        now_ready = status is Status.OK if ready is None else ready
        component.was_ready = component.was_ready or now_ready

    def overall(self) -> Status:
        """The worst status of any component (OK when there are none)."""
        return max(
            (c.status for c in self._components.values()), key=_RANK.__getitem__, default=Status.OK
        )

    def ready(self) -> bool:
        """True once every component needed for readiness has been OK at least once."""
        return all(c.was_ready for c in self._components.values() if c.needed_for_ready)

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Each component's status, detail and the time it entered that status."""
        return {
            name: {"status": c.status.value, "detail": c.detail, "since": c.since}
            for name, c in self._components.items()
        }
