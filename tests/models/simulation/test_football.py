from __future__ import annotations

import numpy as np
import pytest

from a1rt.models.simulation import FootballGames, League, Results
from a1rt.models.simulation.football import REGULATION, football_games, simulate_football

pytestmark = pytest.mark.timeout(60)

GAMES = 12_000
Played = tuple[FootballGames, Results]


@pytest.fixture(scope="module")
def played() -> Played:
    rng = np.random.default_rng(12)
    home = rng.normal(size=(GAMES, 2)) * [5.5, 2.5]
    away = rng.normal(size=(GAMES, 2)) * [5.5, 2.5]
    rest = rng.choice([3, 6, 7, 10], size=(2, GAMES))
    games = football_games(home, away, rest[0], rest[1], rng)
    return games, simulate_football(games, rng)


def _expected_margin(games: FootballGames) -> np.ndarray:
    points = np.arange(games.home_pmfs.shape[-1])
    rows = np.arange(games.drives.size)
    home = games.home_pmfs[rows, games.drives] @ points
    return home - games.away_pmfs[rows, games.drives] @ points


def test_football_margins_of_3_and_7_are_the_most_common(played: Played) -> None:
    _, results = played
    margin = np.abs(results.home_score - results.away_score)
    share = np.bincount(margin) / margin.size
    top = np.argsort(share)[::-1]
    assert set(top[:2].tolist()) == {3, 7}
    assert share[top[1]] - share[top[2]] > 0.01  # spikes, not a smooth hump
    assert share[0] == 0.0  # regulation ties go to the overtime coin flip


def test_football_league_figures_are_realistic(played: Played, leagues: dict[str, League]) -> None:
    games, results = played
    margin = results.home_score - results.away_score
    assert 12.5 <= np.std(margin - _expected_margin(games)) <= 14.5
    league = leagues["americanfootball_nfl"].results
    assert 0.52 <= np.mean(league.home_score > league.away_score) <= 0.60
    assert 40.0 <= np.mean(league.home_score + league.away_score) <= 48.0


def test_football_pregame_and_in_play_probabilities_are_calibrated(
    played: Played, calibration_z
) -> None:
    games, results = played
    index = np.arange(GAMES)
    won = results.home_score > results.away_score
    for clock in (0.0, 900.0, 1800.0, 2700.0, 3300.0, REGULATION):
        at = np.full(GAMES, clock)
        home, away = results.score_at(index, at)
        assert calibration_z(games.outcome_probs(index, at, home, away)[:, 0], won) < 4.0, clock


def test_football_spread_and_total_tables_match_outcomes(played: Played, calibration_z) -> None:
    games, results = played
    margin = results.home_score - results.away_score
    total = results.home_score + results.away_score
    rng = np.random.default_rng(3)
    rows = np.arange(GAMES)
    pick = rng.integers(10, 40, GAMES)
    covers = games.cover_table()[rows, pick]
    assert calibration_z(covers, margin + games.spread_lines[pick] > 0) < 4.0
    pick = rng.integers(5, 35, GAMES)
    assert calibration_z(games.over_table()[rows, pick], total > games.total_lines[pick]) < 4.0


def test_football_scoring_path_is_monotone_and_ends_at_the_final_score(played: Played) -> None:
    _, results = played
    clock = np.where(np.isfinite(results.event_clock), results.event_clock, 1e9)
    assert np.all(np.diff(clock, axis=1) >= 0)
    assert np.all(np.diff(results.event_home, axis=1) >= 0)
    assert np.all(np.diff(results.event_away, axis=1) >= 0)
    home, away = results.score_at(np.arange(GAMES), np.full(GAMES, np.inf))
    assert np.array_equal(home, results.home_score)
    assert np.array_equal(away, results.away_score)
    points = np.diff(results.event_home + results.event_away, axis=1)
    assert set(np.unique(points).tolist()) <= {0, 3, 6, 7, 8}


def test_football_in_play_probability_tends_to_the_outcome(played: Played) -> None:
    games, results = played
    index = np.arange(GAMES)
    won = (results.home_score > results.away_score).astype(float)
    brier = []
    for clock in (0.0, 1800.0, 3000.0, 3500.0):
        at = np.full(GAMES, clock)
        home, away = results.score_at(index, at)
        brier.append(np.mean((games.outcome_probs(index, at, home, away)[:, 0] - won) ** 2))
    assert brier == sorted(brier, reverse=True)
    home, away = results.score_at(index, results.duration)
    final = games.outcome_probs(index, results.duration, home, away)[:, 0]
    assert np.array_equal(final, won)
