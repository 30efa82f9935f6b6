from __future__ import annotations

import numpy as np
import pytest

from a1rt.models.simulation.strengths import STRENGTH_MODELS, season_drift, season_strengths

pytestmark = pytest.mark.timeout(60)


def test_strengths_keep_their_spread_and_regress_between_seasons() -> None:
    model = STRENGTH_MODELS["basketball_nba"]
    strengths = season_strengths(5, "basketball_nba", 60, 30)
    spread = strengths.std(axis=1).mean(axis=0)
    assert np.allclose(spread, model.sd, rtol=0.15)
    now, then = strengths[1:, :, 0].ravel(), strengths[:-1, :, 0].ravel()
    assert abs(np.corrcoef(now, then)[0, 1] - model.carry) < 0.1
    assert np.allclose(strengths.mean(axis=1), 0.0, atol=1e-9)


def test_strengths_of_early_seasons_do_not_depend_on_how_many_are_built() -> None:
    short = season_strengths(9, "soccer_epl", 3, 20)
    long = season_strengths(9, "soccer_epl", 10, 20)
    assert np.array_equal(short, long[:3])
    assert not np.array_equal(long[3], long[4])


def test_strengths_attack_and_defence_are_correlated_for_soccer() -> None:
    strengths = season_strengths(3, "soccer_epl", 40, 20)
    attack, defence = strengths[..., 0].ravel(), strengths[..., 1].ravel()
    assert np.corrcoef(attack, defence)[0, 1] < -0.4


def test_strengths_drift_a_little_within_a_season() -> None:
    drift = season_drift(4, "basketball_nba", 0, 30, 170)
    end = drift[-1, :, 0]
    assert 0.5 < end.std() < 3.0  # within_sd is 1.5 points
    assert np.abs(np.diff(drift[:, :, 0], axis=0)).max() < 1.0
