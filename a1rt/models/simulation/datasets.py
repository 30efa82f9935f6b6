"""build_dataset: the training data of every simulated model, by model name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from a1rt.models.dataset import Dataset

from ._exceptions import InvalidSimulationError, UnknownDatasetError
from .h2h_dataset import h2h_dataset
from .league import MAX_SEASONS, League, simulate_league
from .props_dataset import props_dataset
from .sports import Sport
from .streams import check_seed
from .totals_dataset import totals_dataset


@dataclass(frozen=True)
class DatasetRecipe:
    """How a model's dataset is made: from which league, how many seasons by default."""

    sport: Sport
    build: Callable[[str, League], Dataset]
    seasons: int


RECIPES: Final[dict[str, DatasetRecipe]] = {
    "basketball_nba_h2h": DatasetRecipe("basketball_nba", h2h_dataset, 6),
    "americanfootball_nfl_h2h": DatasetRecipe("americanfootball_nfl", h2h_dataset, 6),
    "soccer_epl_h2h": DatasetRecipe("soccer_epl", h2h_dataset, 6),
    "basketball_nba_totals": DatasetRecipe("basketball_nba", totals_dataset, 6),
    "basketball_nba_props": DatasetRecipe("basketball_nba", props_dataset, 6),
}
DATASET_NAMES: Final[tuple[str, ...]] = tuple(RECIPES)


def build_dataset(name: str, *, seed: int = 0, seasons: int | None = None) -> Dataset:
    """The simulated dataset of model `name`: same seed and seasons, same rows."""
    recipe = _recipe(name)
    count = recipe.seasons if seasons is None else seasons
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SEASONS:
        raise InvalidSimulationError(f"seasons = {count!r} must be an int within 1..{MAX_SEASONS}")
    league = simulate_league(recipe.sport, seed=check_seed(seed), seasons=count)
    return recipe.build(name, league)


def dataset_from_league(name: str, league: League) -> Dataset:
    """The dataset of model `name` built from an already simulated (or altered) league."""
    recipe = _recipe(name)
    if recipe.sport != league.sport:
        raise UnknownDatasetError(f"model {name!r} is not built from {league.sport} games")
    return recipe.build(name, league)


def _recipe(name: str) -> DatasetRecipe:
    recipe = RECIPES.get(name)
    if recipe is None:
        known = ", ".join(DATASET_NAMES)
        raise UnknownDatasetError(
            f"no simulated dataset for model {name!r}; expected one of: {known}"
        )
    return recipe
