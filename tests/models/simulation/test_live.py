from __future__ import annotations

import numpy as np
import pytest

from a1rt.models.simulation import BOOKS, League, game_snapshots, live_state
from a1rt.models.simulation.live import live_noise, live_quotes, step_of

pytestmark = pytest.mark.timeout(60)


def test_live_state_follows_the_clock_to_the_final_score(leagues: dict[str, League]) -> None:
    for league in leagues.values():
        games = np.arange(500)
        grid = league.rules.live_grid()
        previous = None
        for clock in grid:
            state = live_state(league, games, np.full(games.size, clock))
            if previous is not None:
                assert np.all(state.home >= previous.home) and np.all(state.away >= previous.away)
                assert np.all(state.clock >= previous.clock)
            assert np.allclose(state.true_p.sum(axis=1), 1.0)
            previous = state
        assert previous is not None and np.all(previous.final)
        assert np.array_equal(previous.home, league.results.home_score[games])
        assert np.array_equal(previous.away, league.results.away_score[games])
        certain = np.eye(len(league.games.outcomes))[league.outcome()[games]]
        assert np.allclose(previous.true_p, certain)


def test_live_quotes_price_the_in_play_truth_with_the_books_margins(
    leagues: dict[str, League],
) -> None:
    league = leagues["basketball_nba"]
    games = np.arange(2000)
    step = np.full(games.size, 8)
    state = live_state(league, games, league.rules.live_grid()[step])
    noise = live_noise(league)
    odds, fair = live_quotes(state.true_p, noise.shared[games, step], noise.own[games, step])
    margins = (1.0 / odds).sum(axis=2) - 1.0
    assert np.allclose(margins, [book.margin for book in BOOKS], atol=1e-9)
    consensus = fair.mean(axis=1)[:, 0]
    inside = (state.true_p[:, 0] > 0.05) & (state.true_p[:, 0] < 0.95)
    assert np.abs(consensus - state.true_p[:, 0])[inside].mean() < 0.04


def test_live_step_is_the_last_update_at_or_before_the_clock(leagues: dict[str, League]) -> None:
    league = leagues["americanfootball_nfl"]
    steps = step_of(league, np.array([0.0, 299.0, 300.0, 3599.0, 3600.0, 3700.0]))
    assert steps.tolist() == [0, 0, 1, 11, 12, 12]


def test_live_game_snapshots_run_period_by_period_to_the_final_score(
    leagues: dict[str, League],
) -> None:
    for league in leagues.values():
        overtime = np.flatnonzero(league.results.duration > league.rules.regulation)
        for game in [0, 1, 2, *overtime[:3].tolist()]:
            shots = game_snapshots(league, game)
            assert np.all(np.diff(shots.clock) > 0) and shots.clock[0] == 0.0
            assert np.all(np.diff(shots.home) >= 0) and np.all(np.diff(shots.away) >= 0)
            assert np.all(np.diff(shots.period) >= 0) and shots.period[0] == 1
            assert np.all(np.diff(shots.seconds_remaining) <= 0)
            assert shots.status[-1] == "final" and set(shots.status[:-1]) == {"in_progress"}
            assert shots.home[-1] == league.results.home_score[game]
            assert shots.away[-1] == league.results.away_score[game]
            assert shots.true_p[-1, league.outcome()[game]] == 1.0
            assert shots.period[-1] >= league.rules.periods
