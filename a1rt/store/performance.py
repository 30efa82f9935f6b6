"""How the live predictions and the bets did, computed in PostgreSQL.

Predictions are scored against `event_results`: an `*_h2h` model's outcome is home, away or
draw from the final score; a `*_totals` model's is over or under the `market_total` of the
feature vector it predicted from (the latest `feature_store` row of the event and model at
or before the prediction; a total on the line is left out). Predictions of a model without
the outcome (a two-way model and a draw), of other markets, and of events without a final
result are counted but not scored. Scores are those of a1rt.models.scores: mean log loss
(natural log, floored at 1e-15), multiclass Brier, accuracy, and ECE as the worst outcome's
over 10 equal-count bins.

Bets: ROI per currency is profit / staked over settled bets (void bets excluded, pushes in),
with a 95% normal interval from the ratio estimator's linearised variance, which for flat
stakes is the usual sqrt(var(profit per unit) / n); CLV is the mean over bets with a close.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

Connection = psycopg.AsyncConnection[Any]
Z95 = 1.959963984540054
BINS = 10

_SCORES = """
WITH windows AS ({windows}),
labelled AS (
  SELECT w.window_start, w.window_end, p.model, p.version, p.prediction_id, p.probabilities,
    CASE
      WHEN r.event_id IS NULL THEN NULL
      WHEN right(p.model, 7) = '_totals' THEN
        CASE WHEN r.home_score + r.away_score > f.line THEN 'over'
             WHEN r.home_score + r.away_score < f.line THEN 'under' END
      WHEN right(p.model, 4) = '_h2h' THEN
        CASE WHEN r.home_score > r.away_score THEN 'home'
             WHEN r.home_score < r.away_score THEN 'away' ELSE 'draw' END
    END AS outcome
  FROM windows w
  JOIN predictions p ON p.created_at >= w.window_start AND p.created_at < w.window_end
  LEFT JOIN event_results r ON r.event_id = p.event_id AND r.status = 'final'
  LEFT JOIN LATERAL (
    SELECT (fs.features ->> 'market_total')::float8 AS line FROM feature_store fs
    WHERE right(p.model, 7) = '_totals' AND r.event_id IS NOT NULL
      AND fs.event_id = p.event_id AND fs.model = p.model AND fs.computed_at <= p.created_at
    ORDER BY fs.computed_at DESC LIMIT 1
  ) f ON true
  WHERE %(model)s::text IS NULL OR p.model = %(model)s
),
counted AS (
  SELECT window_start, window_end, model, version, count(*) AS predictions
  FROM labelled GROUP BY 1, 2, 3, 4
),
expanded AS (
  SELECT l.window_start, l.window_end, l.model, l.version, l.prediction_id, e.key,
         e.value::float8 AS p, (e.key = l.outcome)::int AS hit
  FROM labelled l, jsonb_each_text(l.probabilities) e
  WHERE l.outcome IS NOT NULL AND l.probabilities ? l.outcome
),
per_prediction AS (
  SELECT window_start, window_end, model, version, prediction_id,
         -ln(greatest(max(p) FILTER (WHERE hit = 1), 1e-15)) AS log_loss,
         sum((p - hit) ^ 2) AS brier,
         (max(p) FILTER (WHERE hit = 1) >= max(p))::int AS correct
  FROM expanded GROUP BY 1, 2, 3, 4, 5
),
binned AS (
  SELECT window_start, window_end, model, version, key, p, hit,
         ntile(%(bins)s) OVER (PARTITION BY window_start, window_end, model, version, key
                               ORDER BY p, prediction_id) AS bin
  FROM expanded
),
per_outcome AS (
  SELECT window_start, window_end, model, version, key, sum(abs(hits - forecast)) / sum(n) AS ece
  FROM (SELECT window_start, window_end, model, version, key, bin, sum(hit) AS hits,
               sum(p) AS forecast, count(*) AS n
        FROM binned GROUP BY 1, 2, 3, 4, 5, 6) b
  GROUP BY 1, 2, 3, 4, 5
),
scores AS (
  SELECT window_start, window_end, model, version, count(*) AS settled,
         avg(log_loss) AS log_loss, avg(brier) AS brier, avg(correct) AS accuracy
  FROM per_prediction GROUP BY 1, 2, 3, 4
),
calibration AS (
  SELECT window_start, window_end, model, version, max(ece) AS calibration_error
  FROM per_outcome GROUP BY 1, 2, 3, 4
),
bets AS (
  SELECT w.window_start, w.window_end, pr.model, pr.version,
         avg((b.payout - b.stake) / b.stake)::float8 AS roi, avg(b.clv_fair) AS clv
  FROM windows w
  JOIN bet_history b ON b.placed_at >= w.window_start AND b.placed_at < w.window_end
       AND b.result NOT IN ('pending', 'void')
  JOIN predictions pr ON pr.prediction_id = b.prediction_id
  WHERE %(model)s::text IS NULL OR pr.model = %(model)s
  GROUP BY 1, 2, 3, 4
)
SELECT c.window_start, c.window_end, c.model, c.version, c.predictions::int AS predictions,
       coalesce(s.settled, 0)::int AS settled, s.log_loss, s.brier, s.accuracy::float8 AS accuracy,
       k.calibration_error, b.roi, b.clv
FROM counted c
LEFT JOIN scores s USING (window_start, window_end, model, version)
LEFT JOIN calibration k USING (window_start, window_end, model, version)
LEFT JOIN bets b USING (window_start, window_end, model, version)
ORDER BY c.window_start, c.model, c.version
"""

_ONE_WINDOW = "SELECT %(start)s::timestamptz AS window_start, %(end)s::timestamptz AS window_end"
_HOURLY = (
    "SELECT s AS window_start, s + interval '1 hour' AS window_end FROM generate_series("
    "date_trunc('hour', %(start)s::timestamptz), %(end)s::timestamptz - interval '1 hour', "
    "interval '1 hour') s"
)

_RECORD = """
INSERT INTO model_performance (model, version, window_start, window_end, predictions, settled,
    log_loss, brier, accuracy, calibration_error, roi, clv)
SELECT model, version, window_start, window_end, predictions, settled, log_loss, brier,
    accuracy, calibration_error, roi, clv FROM ({scores}) scored
ON CONFLICT (model, version, window_start, window_end) DO UPDATE SET
    predictions = excluded.predictions, settled = excluded.settled,
    log_loss = excluded.log_loss, brier = excluded.brier, accuracy = excluded.accuracy,
    calibration_error = excluded.calibration_error, roi = excluded.roi, clv = excluded.clv,
    computed_at = now()
"""

_RETURNS = """
SELECT currency, count(*) AS bets, sum(stake) AS staked, sum(payout) AS returned,
       sum(payout - stake) AS profit, sum((payout - stake) ^ 2) AS profit_sq,
       sum(stake ^ 2) AS stake_sq, sum((payout - stake) * stake) AS cross_sum,
       count(*) FILTER (WHERE result IN ('won', 'half_won')) AS won,
       count(*) FILTER (WHERE result IN ('lost', 'half_lost')) AS lost,
       count(*) FILTER (WHERE result = 'push') AS pushed,
       count(clv_price) AS with_clv, avg(clv_price) AS clv_price,
       avg(clv_probability) AS clv_probability, avg(clv_fair) AS clv_fair
FROM bet_history
WHERE result NOT IN ('pending', 'void') AND placed_at >= %(start)s AND placed_at < %(end)s
  AND (%(currency)s::text IS NULL OR currency = %(currency)s)
GROUP BY currency ORDER BY currency
"""

_OPEN = """
SELECT currency, count(*) FILTER (WHERE result = 'pending') AS pending,
       count(*) FILTER (WHERE result = 'void') AS voided
FROM bet_history
WHERE placed_at >= %(start)s AND placed_at < %(end)s
  AND (%(currency)s::text IS NULL OR currency = %(currency)s)
GROUP BY currency
"""

_SERIES = """
SELECT model, version, window_start, window_end, predictions, settled, log_loss, brier,
       accuracy, calibration_error, roi, clv, computed_at
FROM model_performance
WHERE window_start >= %(start)s AND window_end <= %(end)s
  AND (%(model)s::text IS NULL OR model = %(model)s)
ORDER BY window_start, model, version
"""


async def model_scores(
    conn: Connection, start: datetime, end: datetime, model: str | None = None
) -> list[dict[str, Any]]:
    """Each model and version's predictions made in [start, end), scored."""
    return await _rows(conn, _SCORES.format(windows=_ONE_WINDOW),
                       {"start": start, "end": end, "model": model, "bins": BINS})  # fmt: skip


async def record_model_performance(conn: Connection, start: datetime, end: datetime) -> int:
    """Score every whole hour from the hour `start` falls in to the last that ends by `end`,
    per model and version, into `model_performance` (recomputed when already there: results
    arrive after the predictions); return the rows written."""
    statement = _RECORD.format(scores=_SCORES.format(windows=_HOURLY))
    cur = await conn.execute(
        statement.encode(), {"start": start, "end": end, "model": None, "bins": BINS}
    )
    return max(cur.rowcount, 0)


async def performance_series(
    conn: Connection, start: datetime, end: datetime, model: str | None = None
) -> list[dict[str, Any]]:
    """The `model_performance` windows inside [start, end)."""
    return await _rows(conn, _SERIES, {"start": start, "end": end, "model": model})


async def bet_returns(
    conn: Connection, start: datetime, end: datetime, currency: str | None = None
) -> list[dict[str, Any]]:
    """ROI with its 95% interval and mean CLV per currency, for bets placed in [start, end)."""
    params = {"start": start, "end": end, "currency": currency}
    counts = {r["currency"]: r for r in await _rows(conn, _OPEN, params)}
    summaries = []
    for row in await _rows(conn, _RETURNS, params):
        summary = roi_summary(row)
        extra = counts.pop(row["currency"], {})
        summary["pending"] = int(extra.get("pending", 0))
        summary["void"] = int(extra.get("voided", 0))
        summaries.append(summary)
    for code, extra in sorted(counts.items()):  # only pending or void bets in that currency
        summaries.append({"currency": code, "bets": 0, "pending": int(extra["pending"]),
                          "void": int(extra["voided"])})  # fmt: skip
    summaries.sort(key=lambda s: s["currency"])
    return summaries


def roi_summary(row: dict[str, Any]) -> dict[str, Any]:
    """ROI = profit / staked and its 95% interval, from one currency's sums."""
    n = int(row["bets"])
    staked, profit = Decimal(row["staked"]), Decimal(row["profit"])
    roi = float(profit / staked)
    low = high = None
    if n >= 2:
        # residuals e_i = profit_i - roi * stake_i; sum e^2 from the sums, in floats
        squares = (float(row["profit_sq"]) - 2 * roi * float(row["cross_sum"])
                   + roi * roi * float(row["stake_sq"]))  # fmt: skip
        mean_stake = float(staked) / n
        se = math.sqrt(max(squares, 0.0) / (n * (n - 1))) / mean_stake
        low, high = roi - Z95 * se, roi + Z95 * se
    return {
        "currency": row["currency"],
        "bets": n,
        "won": int(row["won"]),
        "lost": int(row["lost"]),
        "push": int(row["pushed"]),
        "staked": str(staked),
        "returned": str(Decimal(row["returned"])),
        "profit": str(profit),
        "roi": roi,
        "roi_ci95": None if low is None else [low, high],
        "clv": {
            "bets": int(row["with_clv"]),
            "price": _float(row["clv_price"]),
            "probability": _float(row["clv_probability"]),
            "fair": _float(row["clv_fair"]),
        },
    }


def whole_hours(end: datetime, hours: int) -> tuple[datetime, datetime]:
    """The `hours` whole hours before `end`'s hour: (start, end of the last whole hour)."""
    last = end.replace(minute=0, second=0, microsecond=0)
    return last - timedelta(hours=hours), last


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


async def _rows(conn: Connection, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement.encode(), params)
        return await cur.fetchall()
