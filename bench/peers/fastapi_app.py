"""The FastAPI peer: what a team would write without a1rt, run in its own venv (not a1rt's).

One XGBoost booster (the a1rt model's XGBoost member, the same file), loaded natively, one
``POST /api/v2/predict`` taking a1rt's request body, and ``GET /health/live``. It imports
nothing from a1rt or bench: `python fastapi_app.py BOOSTER FEATURES_JSON PORT`, where
FEATURES_JSON lists the model's feature names in column order.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import uvicorn
import xgboost as xgb
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel


class PredictBody(BaseModel):
    """The same body a1rt takes: model name, features by name, explain (ignored here)."""

    model: str
    features: dict[str, float]
    explain: bool = False


def build_app(booster_path: str, feature_names: list[str]) -> FastAPI:
    """The app: the booster loaded once, a predict route and a liveness route."""
    booster = xgb.Booster(model_file=booster_path)
    booster.set_param({"nthread": 1})
    app = FastAPI()

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v2/predict")
    async def predict(body: PredictBody) -> dict[str, Any]:
        missing = [name for name in feature_names if name not in body.features]
        if missing:
            raise HTTPException(422, f"missing features: {missing}")
        row = np.array([[body.features[name] for name in feature_names]], dtype=np.float32)
        away = float(booster.inplace_predict(row)[0])  # binary:logistic: P(label 1 = away)
        return {"model": body.model, "probabilities": {"home": 1.0 - away, "away": away}}

    return app


if __name__ == "__main__":
    booster_file, features_file, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(features_file) as handle:
        names = json.load(handle)
    uvicorn.run(build_app(booster_file, names), host="127.0.0.1", port=port, log_level="warning")
