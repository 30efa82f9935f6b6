from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from a1rt.models.simulation import League, player_form, team_form
from a1rt.models.simulation.ratings import timeline

pytestmark = pytest.mark.timeout(60)

updates = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 50), st.floats(-10, 10)), min_size=1, max_size=30
)


@given(updates=updates, entity=st.integers(0, 4), moment=st.integers(-5, 60))
def test_ratings_timeline_answers_with_the_latest_update_at_or_before(
    updates: list[tuple[int, int, float]], entity: int, moment: int
) -> None:
    who = np.array([u[0] for u in updates])
    when = np.array([float(u[1]) for u in updates])
    value = np.array([[u[2]] for u in updates])
    line = timeline(who, when, value, np.array([99.0]))
    seen = [(u[1], i, u[2]) for i, u in enumerate(updates) if u[0] == entity and u[1] <= moment]
    expected = max(seen)[2] if seen else 99.0  # the latest, and the last given among equals
    assert line.at(np.array([entity]), np.array([float(moment)]))[0, 0] == expected


def test_ratings_elo_learns_from_finished_games_only(leagues: dict[str, League]) -> None:
    league = leagues["basketball_nba"]
    form = team_form(league)
    start, end = league.schedule.start, league.end_time
    home, away = league.schedule.home, league.schedule.away
    diff = form.at(home, start)[:, 0] - form.at(away, start)[:, 0]
    margin = league.results.home_score - league.results.away_score
    later = league.schedule.season > 0
    assert np.corrcoef(diff[later], margin[later])[0, 1] > 0.3
    before, after = form.at(home, end - 1.0), form.at(home, end)
    assert np.array_equal(form.at(home, start), before)  # nothing moves during the game
    won = margin > 0
    assert np.all((after[:, 0] > before[:, 0])[won]) and np.all((after[:, 0] < before[:, 0])[~won])


def test_ratings_player_averages_start_from_projections_and_follow_games(
    leagues: dict[str, League],
) -> None:
    league = leagues["basketball_nba"]
    assert league.players is not None
    form = player_form(league)
    first = np.flatnonzero(league.schedule.season == 2)[0]
    guard = league.schedule.home[first] * 3
    projection = league.players.projection[first, 0, 0]
    assert np.allclose(
        form.at(np.array([guard]), league.schedule.start[first : first + 1]), projection
    )
    after = form.at(np.array([guard]), league.end_time[first : first + 1])[0]
    expected = projection + 0.15 * (league.players.value[first, 0, 0] - projection)
    assert np.allclose(after, expected)
