"""A simulated world that shows an NBA evening, whatever the hour the tests run at.

The World plays from the wall clock, so at some hours every game is final and the next tip-off
is minutes of test time away. Tests that need live games start the World half an hour before
the first tip-offs, with pregame markets already open.
"""

from __future__ import annotations

import time

from a1rt.models.simulation.schedule import NBA_EVENING
from a1rt.models.simulation.world import World

_REUSE = 30.0  # wall seconds: replicas started together get one start, so one world
_starts: dict[float, tuple[float, float]] = {}


def evening_start(speed: float) -> float:
    """`A1RT_SIM_START` for a World of `speed` showing an NBA evening now (the same value for
    calls within a few seconds, so several replicas share the world)."""
    now = time.time()
    made = _starts.get(speed)
    if made is not None and now - made[0] < _REUSE:
        return made[1]
    start = World.start_at_time_of_day(NBA_EVENING, speed, now)
    _starts[speed] = (now, start)
    return start
