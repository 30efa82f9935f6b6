from __future__ import annotations

import inspect

import pytest

import a1rt.models.simulation as simulation

pytestmark = pytest.mark.timeout(60)


def test_simulation_api_exports_documented_names() -> None:
    assert len(set(simulation.__all__)) == len(simulation.__all__)
    for name in simulation.__all__:
        value = getattr(simulation, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith("a1rt.models.simulation."), name
            assert (value.__doc__ or "").strip(), name


def test_simulation_api_offers_build_dataset_with_the_trainer_signature() -> None:
    parameters = inspect.signature(simulation.build_dataset).parameters
    assert list(parameters) == ["name", "seed", "seasons"]
    assert parameters["seed"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["seasons"].kind is inspect.Parameter.KEYWORD_ONLY
    assert set(simulation.DATASET_NAMES) == {
        "basketball_nba_h2h",
        "americanfootball_nfl_h2h",
        "soccer_epl_h2h",
        "basketball_nba_totals",
        "basketball_nba_props",
    }
