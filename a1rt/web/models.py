"""`/api/v2/models`: what is serving, its manifest, and hot reload."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath

from ..models import LoadedModel, ModelNotFound, ModelRefused
from .predict import runtime_of
from .problems import Problem

HEADLINE_FIGURES = ("log_loss", "bayes_optimal_log_loss", "market_log_loss", "ece", "n")


def summary(model: LoadedModel, versions: list[str]) -> dict[str, Any]:
    """A model in one line: name, serving version, backend, inputs and outputs."""
    manifest = model.manifest
    evaluation = manifest.evaluation or {}
    return {
        "name": model.name,
        "version": model.version,
        "backend": model.backend,
        "created": manifest.created,
        "outcomes": list(model.outcomes),
        "n_features": len(manifest.features),
        "members": [m.name for m in manifest.members],
        "versions_on_disk": versions,
        "evaluation": {k: evaluation[k] for k in HEADLINE_FIGURES if k in evaluation},
    }


class ModelsController(Controller):
    """List models, show one, reload one."""

    path = "/api/v2/models"
    tags = ["models"]

    @get("/", summary="Every serving model")
    async def list_models(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        registry = runtime_of(request).models
        return {
            "models": [
                summary(registry.get(name), registry.versions_on_disk(name))
                for name in registry.names()
            ]
        }

    @get("/{model_name:str}", summary="A model's manifest, with its ordered feature schema")
    async def show_model(
        self, request: Request[Any, Any, Any], model_name: FromPath[str]
    ) -> dict[str, Any]:
        registry = runtime_of(request).models
        try:
            model = registry.get(model_name)
        except ModelNotFound as exc:
            raise Problem(404, str(exc)) from exc
        body: dict[str, Any] = msgspec.to_builtins(model.manifest)
        body["backend"] = model.backend
        body["versions_on_disk"] = registry.versions_on_disk(model_name)
        return body

    @post("/{model_name:str}/reload", status_code=200,
          summary="Load the newest version on disk and swap it in atomically")  # fmt: skip
    async def reload_model(
        self, request: Request[Any, Any, Any], model_name: FromPath[str]
    ) -> dict[str, Any]:
        runtime = runtime_of(request)
        try:
            previous: str | None = runtime.models.get(model_name).version
        except ModelNotFound:
            previous = None
        try:
            model = await runtime.model_watcher.reload(model_name)
        except ModelRefused as exc:
            raise Problem(
                409, f"{exc}; version {previous} keeps serving", kind="urn:a1rt:model-refused",
                reason=exc.reason, refused_version=exc.version, serving_version=previous,
            ) from exc  # fmt: skip
        except ModelNotFound as exc:
            raise Problem(404, str(exc)) from exc
        return {"name": model.name, "version": model.version, "backend": model.backend,
                "previous_version": previous}  # fmt: skip
