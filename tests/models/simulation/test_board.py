from __future__ import annotations

import numpy as np
import pytest

from a1rt.models.simulation import BOOKS, League, MarketBoard, price_league

pytestmark = pytest.mark.timeout(60)

SPORTS = ("basketball_nba", "americanfootball_nfl", "soccer_epl")


@pytest.fixture(scope="module")
def recent(leagues: dict[str, League]) -> dict[str, League]:
    """The last three seasons of each league."""
    return {
        sport: league.select(np.flatnonzero(league.schedule.season >= 3))
        for sport, league in leagues.items()
    }


@pytest.fixture(scope="module")
def boards(recent: dict[str, League]) -> dict[str, MarketBoard]:
    return {sport: price_league(recent[sport]) for sport in SPORTS}


@pytest.mark.parametrize("sport", SPORTS)
def test_board_prices_drift_toward_the_truth(
    recent: dict[str, League], boards: dict[str, MarketBoard], sport: str
) -> None:
    board, league = boards[sport], recent[sport]
    rows = np.arange(league.size)
    consensus = board.h2h.consensus()
    log_loss = [-np.log(consensus[rows, k, league.outcome()]).mean() for k in range(5)]
    assert log_loss[-1] < log_loss[0]
    error = np.abs(np.log(consensus[..., 0]) - np.log(board.h2h.true_p[..., 0])).mean(axis=0)
    assert np.all(np.diff(error) < 0)  # every snapshot nearer the start is nearer the truth
    true_log_loss = -np.log(board.h2h.true_p[rows, -1, league.outcome()]).mean()
    assert true_log_loss < log_loss[-1]  # the close is good, not perfect


@pytest.mark.parametrize("sport", SPORTS)
def test_board_margins_are_the_books_margins(boards: dict[str, MarketBoard], sport: str) -> None:
    board = boards[sport]
    for market in (board.h2h, board.spreads, board.totals):
        booksum = (1.0 / market.odds).sum(axis=-1)
        for index, book in enumerate(BOOKS):
            low, high = (0.02, 0.03) if book.sharp else (0.05, 0.08)
            assert low - 1e-9 <= book.margin <= high + 1e-9
            assert np.allclose(booksum[:, :, index], 1.0 + book.margin, rtol=0.0, atol=1e-9)


@pytest.mark.parametrize("sport", SPORTS)
def test_board_lines_are_half_points_priced_near_even(
    recent: dict[str, League], boards: dict[str, MarketBoard], sport: str, calibration_z
) -> None:
    board, league = boards[sport], recent[sport]
    for market in (board.spreads, board.totals):
        assert np.all(market.point % 1 == 0.5)
        # whole-goal (EPL) and 3-and-7 (NFL) lines cannot always sit at even money
        widest = 0.12 if sport == "basketball_nba" else 0.3
        assert np.all(np.abs(market.consensus()[..., 0] - 0.5) < widest)
    margin = league.results.home_score - league.results.away_score
    total = league.results.home_score + league.results.away_score
    close_spread, close_total = board.spreads.point[:, -1], board.totals.point[:, -1]
    assert calibration_z(board.spreads.true_p[:, -1, 0], margin + close_spread > 0) < 4.0
    assert calibration_z(board.totals.true_p[:, -1, 0], total > close_total) < 4.0


def test_board_snapshots_run_from_the_opening_to_the_start(
    recent: dict[str, League], boards: dict[str, MarketBoard]
) -> None:
    for sport in SPORTS:
        times = boards[sport].times
        assert np.all(np.diff(times, axis=1) > 0)
        assert np.array_equal(times[:, -1], recent[sport].schedule.start)
