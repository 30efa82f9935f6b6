"""The predictor actor: owns the loaded ensembles and micro-batches concurrent requests."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import NamedTuple

import anyio
import anyio.to_thread
import numpy as np
from prometheus_client import Counter, Histogram

from actors import Actor

from ..messages import Prediction, PredictRequest, new_id, utcnow
from ..metrics import LATENCY_BUCKETS, Metrics
from ..models import Explanation, LoadedModel, ModelError, ModelRegistry

# Every batch is scored on the event loop: at most BATCH rows, 0.3-0.5 ms for the default
# models (`python -m bench inference`). A worker thread for the larger ones cost more than it
# freed: with the machine busy it buys no parallelism, and at 128 concurrent REST requests
# (~50-row batches) inline scoring answered ~10% more.
BATCH = 64


class Scored(NamedTuple):
    """A prediction and the exact model version that made it (for a matching explanation).
    (A NamedTuple: a third of a frozen dataclass's construction cost, once per prediction.)"""

    prediction: Prediction
    model: LoadedModel
    row: tuple[float, ...]


class Predictor(Actor[PredictRequest, "Scored | ModelError"]):
    """Scores PredictRequests; requests waiting together are scored in one call per model."""

    def __init__(
        self,
        registry: ModelRegistry,
        metrics: Metrics,
        *,
        explain_limit: int = 2,
        sink: Callable[[Prediction], None] | None = None,
    ) -> None:
        super().__init__("predictor", capacity=4096, batch=BATCH)
        self.registry = registry
        self._sink = sink  # every prediction made, e.g. to the persister; must not block
        self._explain_limit = explain_limit
        self._explain_limiter: anyio.CapacityLimiter | None = None
        self._predictions = Counter(
            "a1rt_predictions", "Predictions made", ["model", "version", "backend"],
            registry=metrics.registry,
        )  # fmt: skip
        self._inference = Histogram(
            "a1rt_inference_seconds", "Time for one ensemble call (a micro-batch)", ["model"],
            buckets=LATENCY_BUCKETS, registry=metrics.registry,
        )  # fmt: skip
        self._batch_rows = Histogram(
            "a1rt_inference_batch_rows", "Rows per ensemble call", ["model"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024), registry=metrics.registry,
        )  # fmt: skip
        self._explain_seconds = Histogram(
            "a1rt_explain_seconds", "Time to compute one explanation", ["model"],
            buckets=LATENCY_BUCKETS, registry=metrics.registry,
        )  # fmt: skip

    async def on_start(self) -> None:
        if self._explain_limiter is None:  # limiters belong to the event loop: made here
            self._explain_limiter = anyio.CapacityLimiter(self._explain_limit)

    async def predict(self, request: PredictRequest, timeout: float = 5.0) -> Scored:  # noqa: ASYNC109
        """Score one request; raises the ModelError it caused."""
        outcome = await self.ask(request, timeout)
        if isinstance(outcome, ModelError):
            raise outcome
        return outcome

    async def explain(self, scored: Scored) -> Explanation:
        """SHAP contributions for a scored row, off the event loop, a few at a time."""
        model = scored.model
        row = np.asarray([scored.row], dtype=np.float32)
        started = time.perf_counter()
        explanation = await anyio.to_thread.run_sync(
            model.explain, row, limiter=self._explain_limiter
        )
        self._explain_seconds.labels(model.name).observe(time.perf_counter() - started)
        return explanation

    async def handle_batch(self, messages: list[PredictRequest]) -> list[Scored | ModelError]:
        results: list[Scored | ModelError | None] = [None] * len(messages)
        by_model: dict[str, list[int]] = defaultdict(list)
        for i, message in enumerate(messages):
            by_model[message.model].append(i)
        for name, indices in by_model.items():
            try:
                scored = self._score(name, [messages[i] for i in indices])
            except ModelError as exc:  # the request's fault or a model gone: not a crash
                scored = [exc] * len(indices)
            for i, outcome in zip(indices, scored, strict=True):
                results[i] = outcome
                if self._sink is not None and isinstance(outcome, Scored):
                    self._sink(outcome.prediction)
        return [r for r in results if r is not None]

    def _score(self, name: str, requests: list[PredictRequest]) -> list[Scored | ModelError]:
        model = self.registry.get(name)
        X = np.asarray([r.row for r in requests], dtype=np.float32)
        started = time.perf_counter()
        output = model.predict(X)
        self._inference.labels(name).observe(time.perf_counter() - started)
        self._batch_rows.labels(name).observe(len(X))
        self._predictions.labels(name, model.version, model.backend).inc(len(X))
        created = utcnow()
        outcomes = model.outcomes
        probabilities = output.probabilities.tolist()
        confidence = output.confidence.tolist()
        # Each member's rows as {outcome: p}, then per row {member: that}.
        per_member = [
            [dict(zip(outcomes, row, strict=True)) for row in p.tolist()]
            for p in output.members.values()
        ]
        members = [
            dict(zip(output.members, rows, strict=True)) for rows in zip(*per_member, strict=True)
        ]
        return [
            Scored(
                Prediction(
                    prediction_id=new_id(),
                    model=name,
                    version=model.version,
                    probabilities=dict(zip(outcomes, probabilities[i], strict=True)),
                    confidence=confidence[i],
                    created_at=created,
                    event_id=request.event_id,
                    subject=request.subject,
                    members=members[i],
                ),
                model,
                request.row,
            )
            for i, request in enumerate(requests)
        ]
