"""The package's public surface: exports, docstrings, and the exception contract."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import a1rt.betting as betting
from a1rt.betting import BettingError


def test_betting_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(betting) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(betting, name))}
    assert sorted(betting.__all__) == betting.__all__
    assert set(betting.__all__) == public - modules - {"annotations"}


@pytest.mark.parametrize("name", betting.__all__)
def test_betting_public_names_have_docstrings(name: str) -> None:
    obj = getattr(betting, name)
    if inspect.isfunction(obj) or inspect.isclass(obj):
        assert obj.__doc__ and obj.__doc__.strip()


def test_betting_errors_share_a_value_error_root_and_say_when_raised() -> None:
    errors = [
        obj for obj in vars(betting).values() if inspect.isclass(obj) and issubclass(obj, Exception)
    ]
    assert len(errors) == 8
    for error in errors:
        assert issubclass(error, BettingError) and issubclass(error, ValueError)
        assert error.__doc__ is not None and error.__doc__.startswith("Raised when")


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.lists(st.one_of(st.floats(), st.integers(), st.text(max_size=2), st.none()), max_size=4),
    st.lists(st.lists(st.floats(), max_size=2), max_size=3),
    st.dictionaries(st.integers(-5, 5), st.floats(), max_size=3),
)

CALLS = {
    "devig": lambda x: betting.devig(x),
    "devig_method": lambda x: betting.devig([2.0, 2.0], x),
    "apply_margin": lambda x: betting.apply_margin(x, 0.05, "power"),
    "apply_margin_margin": lambda x: betting.apply_margin([0.5, 0.5], x, "shin"),
    "kelly": lambda x: betting.kelly(x, x),
    "kelly_fraction": lambda x: betting.kelly([0.6], [2.0], fraction=x),
    "arbitrage": lambda x: betting.arbitrage(x, commission=x),
    "middle": lambda x: betting.middle(x, 1.9, 47.5, 1.9, x),
    "fractional": lambda x: betting.fractional_to_decimal(x),
    "american": lambda x: betting.american_to_decimal(x),
    "overround": lambda x: betting.overround(x),
    "fair_clv": lambda x: betting.fair_clv(x, x),
    "expected_log_growth": lambda x: betting.expected_log_growth([0.5, 0.5], [2.0, 2.0], x),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@settings(max_examples=150, deadline=None)
@given(junk)
def test_betting_functions_raise_only_betting_errors_on_junk(call: object, value: object) -> None:
    assert callable(call)
    try:
        call(value)
    except BettingError:
        pass
