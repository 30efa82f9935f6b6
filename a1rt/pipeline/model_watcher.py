"""Loads every model at start, then hot-reloads a model when a newer version lands on disk.

Once the models are loaded, what the process holds (the ML stack imported by loading them and
the models themselves: ~280,000 objects) lives as long as the process, so it is frozen out of
the cycle collector's sight (`gc.freeze`): otherwise each full collection walks all of it,
~130 ms with the loop stopped, and the young collections pay for it too. Frozen objects are
never collected even when they become cyclic garbage, so a reload unfreezes, collects once
(what the replaced version left) and freezes again.
"""

from __future__ import annotations

import gc
import time

import anyio
import anyio.to_thread
from anyio.abc import TaskStatus
from prometheus_client import Counter, Gauge

from ..health import HealthRegistry, Status
from ..logs import get_logger
from ..metrics import Metrics
from ..models import LoadedModel, LoadReport, ModelError, ModelRegistry

log = get_logger(__name__)


class ModelWatcher:
    """A supervised service (not an actor): loading and reloading run in a worker thread, one
    at a time, so compiling never blocks the event loop or races another load."""

    name = "model-watcher"

    def __init__(
        self,
        registry: ModelRegistry,
        health: HealthRegistry,
        metrics: Metrics,
        *,
        interval: float = 2.0,
    ) -> None:
        self.registry = registry
        self._health = health
        self._interval = interval
        self._refused: dict[str, str] = {}  # name -> newest version refused, not retried
        self._stop: anyio.Event | None = None
        self._reloads = Counter(
            "a1rt_model_reloads", "Model loads and reloads by result", ["model", "result"],
            registry=metrics.registry,
        )  # fmt: skip
        self._info = Gauge(
            "a1rt_model_info", "The serving version of each model (value 1)",
            ["model", "version", "backend"], registry=metrics.registry,
        )  # fmt: skip
        health.register("models", detail="loading")

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Ready at once; load everything, then poll the directory until stopped."""
        self._stop = anyio.Event()
        task_status.started()
        if not self.registry.names():
            reports = await anyio.to_thread.run_sync(self.registry.load_all)
            gc.freeze()  # before health says ready: a ready replica is already frozen
            self._after_load_all(reports)
        while not self._stop.is_set():
            with anyio.move_on_after(self._interval):
                await self._stop.wait()
            if not self._stop.is_set():
                await self.check_for_new_versions()

    def request_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def reload(self, name: str) -> LoadedModel:
        """Load the newest version of `name` and swap it in; ModelError if refused."""
        try:
            model = await anyio.to_thread.run_sync(self.registry.reload, name)
        except ModelError as exc:
            self._reloads.labels(name, "refused").inc()
            log.warning("model reload refused", model=name, reason=str(exc))
            raise
        collected_s = _refreeze()
        self._reloads.labels(name, "loaded").inc()
        self._refused.pop(name, None)
        self._publish_info()
        log.info("model reloaded", model=name, version=model.version, backend=model.backend,
                 full_collection_ms=round(collected_s * 1000, 1))  # fmt: skip
        return model

    async def check_for_new_versions(self) -> None:
        """Reload each model whose newest version on disk is not the one serving."""
        for name in self.registry.names_on_disk():
            newest = self.registry.newest_version_on_disk(name)
            serving = self._serving_version(name)
            if newest is None or newest == serving or self._refused.get(name) == newest:
                continue
            try:
                await self.reload(name)
            except ModelError:
                self._refused[name] = newest
        self._report_health()

    def _serving_version(self, name: str) -> str | None:
        try:
            version: str = self.registry.get(name).version
        except ModelError:
            return None
        return version

    def _after_load_all(self, reports: list[LoadReport]) -> None:
        for report in reports:
            self._reloads.labels(report.name, "loaded" if report.version else "refused").inc()
            for refusal in report.refused:
                log.warning("model version refused", model=report.name,
                            version=refusal.version, reason=refusal.reason)  # fmt: skip
                self._refused.setdefault(report.name, refusal.version)
        self._publish_info()
        self._report_health()

    def _publish_info(self) -> None:
        self._info.clear()
        for name in self.registry.names():
            model = self.registry.get(name)
            self._info.labels(name, model.version, model.backend).set(1)

    def _report_health(self) -> None:
        on_disk = self.registry.names_on_disk()
        serving = self.registry.names()
        missing = sorted(set(on_disk) - set(serving))
        if not on_disk:
            detail = f"no models under {self.registry.models_dir}; run `a1rt train`"
            self._health.report("models", Status.DOWN, detail)
        elif missing:
            self._health.report(
                "models", Status.DEGRADED, f"not loadable: {', '.join(missing)}",
                ready=bool(serving),
            )  # fmt: skip
        else:
            refused = "; ".join(f"{n} {v} refused" for n, v in sorted(self._refused.items()))
            self._health.report("models", Status.OK, refused or f"{len(serving)} models serving")


def _refreeze() -> float:
    """Collect what was frozen and has since become garbage (a replaced model), freeze what is
    left; the seconds the full collection took (the loop waits for it)."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - started
