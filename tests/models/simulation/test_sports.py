from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from a1rt.models.simulation import SPORTS, UnknownSportError, rules

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("sport", SPORTS)
@given(clock=st.floats(0.0, 6000.0))
def test_sports_wall_clock_and_game_clock_round_trip(sport: str, clock: float) -> None:
    sport_rules = rules(sport)
    clock = min(clock, sport_rules.regulation + sport_rules.overtime_seconds)
    offset = sport_rules.wall_offset(np.array([clock]))
    assert sport_rules.clock_at(offset)[0] == pytest.approx(clock, abs=1e-6)


def test_sports_halftime_stops_the_clock() -> None:
    nba = rules("basketball_nba")
    half = nba.wall_offset(np.array([1440.0]))[0]
    during = nba.clock_at(np.array([half + 1.0, half + 899.0]))
    assert np.all(during == 1440.0)
    assert nba.wall_offset(np.array([2880.0]))[0] == 2880 * 2.5 + 900


def test_sports_period_clock_counts_down_each_period() -> None:
    nba = rules("basketball_nba")
    period, left = nba.period_clock(np.array([0.0, 100.0, 720.0, 721.0, 2880.0, 2881.0, 3180.0]))
    assert period.tolist() == [1, 1, 1, 2, 4, 5, 5]
    assert left.tolist() == [720.0, 620.0, 0.0, 719.0, 0.0, 299.0, 0.0]


def test_sports_unknown_key_is_refused() -> None:
    with pytest.raises(UnknownSportError, match="icehockey_nhl"):
        rules("icehockey_nhl")
