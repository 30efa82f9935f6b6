from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from a1rt.models.simulation import League

pytestmark = pytest.mark.timeout(60)

GAMES_PER_TEAM = {"basketball_nba": 82, "americanfootball_nfl": 17, "soccer_epl": 38}
FIRST_MONTH = {"basketball_nba": 10, "americanfootball_nfl": 9, "soccer_epl": 8}


@pytest.mark.parametrize("sport", list(GAMES_PER_TEAM))
def test_schedule_gives_every_team_a_full_balanced_season(
    leagues: dict[str, League], sport: str
) -> None:
    schedule = leagues[sport].schedule
    teams = len(leagues[sport].teams)
    for season in range(6):
        chosen = schedule.season == season
        home, away = schedule.home[chosen], schedule.away[chosen]
        played = np.bincount(np.concatenate([home, away]), minlength=teams)
        assert np.all(played == GAMES_PER_TEAM[sport])
        hosted = np.bincount(home, minlength=teams)
        assert hosted.max() - hosted.min() <= 2
        assert np.all(home != away)
        days = np.concatenate([schedule.day[chosen], schedule.day[chosen]])
        team = np.concatenate([home, away])
        assert len(set(zip(team.tolist(), days.tolist(), strict=True))) == team.size  # one a day
        starts = schedule.start[chosen]
        assert np.all(np.diff(starts) >= 0)
        first = dt.datetime.fromtimestamp(float(starts[0]), dt.UTC)
        assert (first.year, first.month) == (2016 + season, FIRST_MONTH[sport])


@pytest.mark.parametrize("sport", list(GAMES_PER_TEAM))
def test_schedule_rest_days_count_the_days_since_the_last_game(
    leagues: dict[str, League], sport: str
) -> None:
    schedule = leagues[sport].schedule
    chosen = np.flatnonzero(schedule.season == 1)
    cap = max(schedule.home_rest.max(), schedule.away_rest.max())
    last_day: dict[int, int] = {}
    for game in chosen[np.argsort(schedule.day[chosen], kind="stable")]:
        for team, rest in (
            (schedule.home[game], schedule.home_rest[game]),
            (schedule.away[game], schedule.away_rest[game]),
        ):
            previous = last_day.get(int(team))
            expected = cap if previous is None else min(schedule.day[game] - previous - 1, cap)
            assert rest == expected
            last_day[int(team)] = int(schedule.day[game])


def test_schedule_nba_has_back_to_backs_and_evening_tip_offs(leagues: dict[str, League]) -> None:
    schedule = leagues["basketball_nba"].schedule
    rest = np.concatenate([schedule.home_rest, schedule.away_rest])
    assert 0.10 < np.mean(rest == 0) < 0.35
    hour = (schedule.start % 86400) / 3600
    assert np.all((hour >= 23) | (hour <= 3))  # 7 pm to 10:30 pm US Eastern
