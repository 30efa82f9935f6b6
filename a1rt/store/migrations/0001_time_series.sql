-- The big, time-ordered tables. Each is partitioned by UTC day on its timestamp: the
-- application creates partitions ahead (ensure_partitions) and retention drops whole
-- partitions (drop_expired_partitions), never rows. A partitioned table's primary key must
-- contain the partition column, so the key is (id, timestamp); both are decided by the
-- application before the write, which is what makes a retried write idempotent.

CREATE TABLE predictions (
    prediction_id text NOT NULL,
    created_at timestamptz NOT NULL,
    model text NOT NULL,
    version text NOT NULL,
    event_id text,
    probabilities jsonb NOT NULL,             -- outcome -> probability
    confidence double precision NOT NULL,
    members jsonb NOT NULL DEFAULT '{}',      -- member -> outcome -> probability
    PRIMARY KEY (prediction_id, created_at)
) PARTITION BY RANGE (created_at);

CREATE INDEX predictions_event_idx ON predictions (event_id, created_at)
    WHERE event_id IS NOT NULL;

CREATE TABLE odds_snapshots (
    snapshot_id text NOT NULL,                -- a digest of source, event, book, market, time
    received_at timestamptz NOT NULL,
    event_id text NOT NULL,
    sport text NOT NULL,
    book text NOT NULL,
    market text NOT NULL,
    home_team text NOT NULL,
    away_team text NOT NULL,
    commence_time timestamptz NOT NULL,
    outcomes jsonb NOT NULL,                  -- [{name, price, point}], decimal prices
    source text NOT NULL,
    source_time timestamptz,
    PRIMARY KEY (snapshot_id, received_at)
) PARTITION BY RANGE (received_at);

-- Closing lines: the last snapshot of an event's market at a book before kick-off.
CREATE INDEX odds_snapshots_event_idx ON odds_snapshots (event_id, market, book, received_at);

CREATE TABLE feature_store (
    feature_id text NOT NULL,                 -- a digest of event, model, time
    computed_at timestamptz NOT NULL,
    event_id text NOT NULL,
    sport text NOT NULL,
    model text NOT NULL,
    features jsonb NOT NULL,                  -- feature name -> value
    PRIMARY KEY (feature_id, computed_at)
) PARTITION BY RANGE (computed_at);

CREATE INDEX feature_store_event_idx ON feature_store (event_id, model, computed_at);
