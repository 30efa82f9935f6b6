from __future__ import annotations

import numpy as np
import pytest

from a1rt.betting import devig
from a1rt.models.simulation import BOOKS
from a1rt.models.simulation.books import beliefs, quote

pytestmark = pytest.mark.timeout(60)


def test_books_margins_are_sharp_and_soft() -> None:
    sharp = [book.margin for book in BOOKS if book.sharp]
    soft = [book.margin for book in BOOKS if not book.sharp]
    assert len(sharp) == 1 and 0.02 <= sharp[0] <= 0.03
    assert len(soft) >= 4 and all(0.05 <= margin <= 0.08 for margin in soft)
    assert {"draftkings", "fanduel", "betmgm", "caesars"} <= {book.key for book in BOOKS}


@pytest.mark.parametrize("outcomes", [2, 3])
def test_books_quote_has_the_book_margin_and_devigs_to_the_belief(outcomes: int) -> None:
    rng = np.random.default_rng(0)
    belief = rng.dirichlet(np.ones(outcomes) * 3, size=500)
    for book in BOOKS:
        odds, fair = quote(book, belief)
        assert np.allclose((1.0 / odds).sum(axis=1), 1.0 + book.margin, atol=1e-9)
        assert np.allclose(fair, [devig(row, book.method) for row in odds[:20]] + list(fair[20:]))
        step = 1.0 / (1000 if outcomes == 2 else 100)
        inside = belief.min(axis=1) > 0.02
        assert np.abs(fair - belief)[inside].max() <= step


def test_books_quote_caps_near_certain_outcomes() -> None:
    odds, fair = quote(BOOKS[-1], np.array([[0.9999, 0.0001], [0.5, 0.5]]))
    assert np.all(odds > 1.0) and np.all(np.isfinite(odds))
    assert fair[0, 1] == pytest.approx(0.01, abs=1e-3)


def test_books_beliefs_without_noise_are_the_truth() -> None:
    truth = np.array([[0.6, 0.4], [0.2, 0.8]])
    assert np.allclose(beliefs(truth, np.zeros_like(truth)), truth)
    shifted = beliefs(truth, np.array([[1.0, 0.0], [1.0, 0.0]]))
    log_odds = np.log(shifted[:, 0] / shifted[:, 1]) - np.log(truth[:, 0] / truth[:, 1])
    assert np.allclose(log_odds, 1.0)
