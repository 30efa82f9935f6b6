from __future__ import annotations

import numpy as np
import pytest

from a1rt.models.simulation import BOOKS, STATS, PropBoard, price_props, simulate_league
from a1rt.models.simulation.players import player_names

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def priced() -> tuple[PropBoard, np.ndarray]:
    league = simulate_league("basketball_nba", seed=4, seasons=1)
    assert league.players is not None
    return price_props(league), league.players.value


def test_props_true_over_probability_is_calibrated(
    priced: tuple[PropBoard, np.ndarray], calibration_z
) -> None:
    board, value = priced
    for stat in range(len(STATS)):
        line = board.line[:, 0, :, :, stat].ravel()
        over = board.true_p[:, 0, :, :, stat, 0].ravel()
        hit = value[..., stat].ravel() > line
        assert calibration_z(over, hit) < 4.0, STATS[stat]


def test_props_lines_sit_near_the_median_and_carry_the_books_margins(
    priced: tuple[PropBoard, np.ndarray],
) -> None:
    board, _ = priced
    assert np.all(board.line % 1 == 0.5)
    assert 0.45 < np.median(board.true_p[..., 0]) < 0.55
    margins = (1.0 / board.odds).sum(axis=-1) - 1.0
    for index, book in enumerate(BOOKS):
        assert np.allclose(margins[:, :, index], book.margin, atol=1e-9)


def test_props_players_are_named_per_seed() -> None:
    names = player_names(1)
    flat = [name for team in names for name in team]
    assert len(names) == 30 and len(set(flat)) == 90
    assert player_names(1) == names and player_names(2) != names
