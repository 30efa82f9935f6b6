from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import a1rt.models
from a1rt.models import _exceptions


def test_public_api_all_names_resolve() -> None:
    for name in a1rt.models.__all__:
        assert getattr(a1rt.models, name) is not None, name
    assert sorted(a1rt.models.__all__) == sorted(set(a1rt.models.__all__))
    with pytest.raises(AttributeError):
        a1rt.models.no_such_name  # noqa: B018


def test_public_api_exceptions_share_a_root_and_say_when_raised() -> None:
    classes = [c for _, c in inspect.getmembers(_exceptions, inspect.isclass)]
    assert classes and all(issubclass(c, a1rt.models.ModelError) for c in classes)
    for cls in classes:
        assert (cls.__doc__ or "").startswith("Raised when"), cls.__name__
        assert getattr(a1rt.models, cls.__name__) is cls


def test_public_api_importing_the_dataset_contract_stays_light() -> None:
    code = (
        "import sys, a1rt.models.dataset; "
        "print(sorted(m for m in ('xgboost', 'lightgbm', 'sklearn', 'shap') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
