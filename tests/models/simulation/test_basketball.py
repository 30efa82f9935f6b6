from __future__ import annotations

import numpy as np
import pytest

from a1rt.models.simulation import BasketballGames, League, Results
from a1rt.models.simulation.basketball import REGULATION, basketball_games, simulate_basketball

pytestmark = pytest.mark.timeout(60)

GAMES = 25_000
Played = tuple[BasketballGames, np.ndarray, np.ndarray, Results]


@pytest.fixture(scope="module")
def played() -> Played:
    rng = np.random.default_rng(11)
    home = rng.normal(size=(GAMES, 2)) * [4.5, 4.0]
    away = rng.normal(size=(GAMES, 2)) * [4.5, 4.0]
    rest = rng.integers(0, 3, (2, GAMES))
    games = basketball_games(home, away, rest[0], rest[1])
    results = simulate_basketball(games, rng)
    margin = results.home_score - results.away_score
    return games, margin, results.home_score + results.away_score, results


def test_basketball_league_figures_are_realistic(leagues: dict[str, League]) -> None:
    league = leagues["basketball_nba"]
    games = league.games
    assert isinstance(games, BasketballGames)
    margin = league.results.home_score - league.results.away_score
    total = league.results.home_score + league.results.away_score
    expected = games.expected_points()
    assert 0.55 <= np.mean(margin > 0) <= 0.62
    assert 11.0 <= np.std(margin - (expected[:, 0] - expected[:, 1])) <= 13.0
    assert 215.0 <= total.mean() <= 235.0
    assert 9.5 <= np.std(league.results.home_score - expected[:, 0]) <= 11.5
    assert not np.any(margin == 0)


def test_basketball_pregame_and_in_play_probabilities_are_calibrated(
    played: Played, calibration_z
) -> None:
    games, margin, _, results = played
    index = np.arange(GAMES)
    for clock in (0.0, 720.0, 1440.0, 2160.0, 2700.0, 2880.0):
        at = np.full(GAMES, clock)
        home, away = results.score_at(index, at)
        p = games.outcome_probs(index, at, home, away)[:, 0]
        assert calibration_z(p, margin > 0) < 4.0, clock


def test_basketball_spread_and_total_tables_match_outcomes(played: Played, calibration_z) -> None:
    games, margin, total, _ = played
    sample = np.arange(6_000)
    subset = BasketballGames(
        *(getattr(games, f)[sample] for f in ("home_rate", "away_rate", "shared_rate"))
    )
    rng = np.random.default_rng(1)
    pick = rng.integers(0, games.spread_lines.size, sample.size)
    covers = subset.cover_table()[sample, pick]
    assert calibration_z(covers, margin[sample] + games.spread_lines[pick] > 0) < 4.0
    pick = rng.integers(30, 90, sample.size)
    over = subset.over_table()[sample, pick]
    assert calibration_z(over, total[sample] > games.total_lines[pick]) < 4.0


def test_basketball_scoring_path_is_monotone_and_ends_at_the_final_score(
    played: Played,
) -> None:
    results = played[3]
    clock = np.where(np.isfinite(results.event_clock), results.event_clock, 1e9)
    assert np.all(np.diff(clock, axis=1) >= 0)
    assert np.all(np.diff(results.event_home, axis=1) >= 0)
    assert np.all(np.diff(results.event_away, axis=1) >= 0)
    end = np.full(GAMES, np.inf)
    home, away = results.score_at(np.arange(GAMES), end)
    assert np.array_equal(home, results.home_score)
    assert np.array_equal(away, results.away_score)
    overtime = results.duration > REGULATION
    at_regulation = results.score_at(np.arange(GAMES), np.full(GAMES, REGULATION))
    assert np.all(at_regulation[0][overtime] == at_regulation[1][overtime])
    assert 0.015 < overtime.mean() < 0.05


def test_basketball_in_play_probability_tends_to_the_outcome(
    played: Played,
) -> None:
    games, margin, _, results = played
    index = np.arange(GAMES)
    won = (margin > 0).astype(float)
    brier = []
    for clock in (0.0, 1440.0, 2520.0, 2820.0):
        at = np.full(GAMES, clock)
        home, away = results.score_at(index, at)
        brier.append(np.mean((games.outcome_probs(index, at, home, away)[:, 0] - won) ** 2))
    assert brier == sorted(brier, reverse=True)
    assert brier[-1] < 0.05
    final = results.duration
    home, away = results.score_at(index, final)
    assert np.array_equal(games.outcome_probs(index, final, home, away)[:, 0], won)
