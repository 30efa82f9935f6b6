from __future__ import annotations

import numpy as np
import pytest

from a1rt.models.simulation import League, Results, SoccerGames
from a1rt.models.simulation.soccer import REGULATION, simulate_soccer, soccer_games

pytestmark = pytest.mark.timeout(60)

GAMES = 30_000
Played = tuple[SoccerGames, Results]


def _strengths(rng: np.random.Generator) -> np.ndarray:
    attack = rng.normal(0.0, 0.25, GAMES)
    defence = -0.6 * attack + 0.8 * rng.normal(0.0, 0.25, GAMES)
    return np.stack([attack, defence], axis=1)


@pytest.fixture(scope="module")
def played() -> Played:
    rng = np.random.default_rng(13)
    rest = rng.choice([2, 3, 6], size=(2, GAMES))
    games = soccer_games(_strengths(rng), _strengths(rng), rest[0], rest[1])
    return games, simulate_soccer(games, rng)


def _result(results: Results) -> np.ndarray:
    return results.outcome(("home", "draw", "away"))


def test_soccer_league_figures_are_realistic(leagues: dict[str, League]) -> None:
    results = leagues["soccer_epl"].results
    result = _result(results)
    assert 0.20 <= np.mean(result == 1) <= 0.30
    assert 0.40 <= np.mean(result == 0) <= 0.50
    assert 2.4 <= np.mean(results.home_score + results.away_score) <= 3.2
    games = leagues["soccer_epl"].games
    assert isinstance(games, SoccerGames)
    lam, mu = games.home_rate, games.away_rate
    assert np.all(1 - games.rho * lam * mu > 0) and np.all(1 + games.rho * np.maximum(lam, mu) > 0)


def test_soccer_pregame_and_in_play_probabilities_are_calibrated(
    played: Played, calibration_z
) -> None:
    games, results = played
    index = np.arange(GAMES)
    result = _result(results)
    for clock in (0.0, 1800.0, 2700.0, 4500.0, 5100.0):
        at = np.full(GAMES, clock)
        home, away = results.score_at(index, at)
        probs = games.outcome_probs(index, at, home, away)
        for outcome in range(3):
            assert calibration_z(probs[:, outcome], result == outcome) < 4.0, (clock, outcome)


def test_soccer_spread_and_total_tables_match_outcomes(played: Played, calibration_z) -> None:
    games, results = played
    rng = np.random.default_rng(4)
    rows = np.arange(GAMES)
    margin = results.home_score - results.away_score
    pick = rng.integers(0, games.spread_lines.size, GAMES)
    covers = games.cover_table()[rows, pick]
    assert calibration_z(covers, margin + games.spread_lines[pick] > 0) < 4.0
    pick = rng.integers(0, games.total_lines.size, GAMES)
    total = results.home_score + results.away_score
    assert calibration_z(games.over_table()[rows, pick], total > games.total_lines[pick]) < 4.0


def test_soccer_scoring_path_is_monotone_and_ends_at_the_final_score(played: Played) -> None:
    _, results = played
    clock = np.where(np.isfinite(results.event_clock), results.event_clock, 1e9)
    assert np.all(np.diff(clock, axis=1) >= 0)
    steps = np.diff(results.event_home + results.event_away, axis=1)
    assert set(np.unique(steps).tolist()) <= {0, 1}
    home, away = results.score_at(np.arange(GAMES), np.full(GAMES, REGULATION))
    assert np.array_equal(home, results.home_score)
    assert np.array_equal(away, results.away_score)


def test_soccer_in_play_probability_tends_to_the_outcome(played: Played) -> None:
    games, results = played
    index = np.arange(GAMES)
    truth = np.eye(3)[_result(results)]
    brier = []
    for clock in (0.0, 2700.0, 4800.0, 5340.0, REGULATION):
        at = np.full(GAMES, clock)
        home, away = results.score_at(index, at)
        probs = games.outcome_probs(index, at, home, away)
        brier.append(np.mean(((probs - truth) ** 2).sum(axis=1)))
    assert brier == sorted(brier, reverse=True)
    assert brier[-1] == pytest.approx(0.0, abs=1e-12)
