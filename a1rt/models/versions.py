"""Version names for new model directories, and the library versions a manifest records."""

from __future__ import annotations

import datetime as dt
from importlib import metadata
from pathlib import Path

VERSION_FORMAT = "%Y%m%d-%H%M%S"  # UTC; sorts as a string
_DISTRIBUTIONS = {  # recorded name -> installable distributions providing it
    "xgboost": ("xgboost", "xgboost-cpu"),
    "lightgbm": ("lightgbm",),
    "scikit-learn": ("scikit-learn",),
    "treelite": ("treelite",),
    "tl2cgen": ("tl2cgen",),
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "shap": ("shap",),
}


def next_version(model_dir: Path, now: dt.datetime | None = None) -> str:
    """A version name later than every existing one: the UTC time, bumped past collisions."""
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0, tzinfo=None)
    names = [p.name for p in model_dir.iterdir()] if model_dir.is_dir() else []
    parsed = [_parse(name) for name in names if not name.startswith(".")]
    latest = max((t for t in parsed if t is not None), default=None)
    if latest is not None and latest >= moment:
        moment = latest + dt.timedelta(seconds=1)
    while any(moment.strftime(VERSION_FORMAT) in name for name in names):
        moment += dt.timedelta(seconds=1)
    return moment.strftime(VERSION_FORMAT)


def _parse(name: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(name, VERSION_FORMAT)
    except ValueError:
        return None


def library_versions() -> dict[str, str]:
    """Versions of the libraries that produce and read the artifacts."""
    versions = {}
    for name, distributions in _DISTRIBUTIONS.items():
        for distribution in distributions:
            try:
                versions[name] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions
