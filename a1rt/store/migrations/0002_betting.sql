-- What the alert engine found, what was bet, how the models did, and what went wrong.

CREATE TABLE betting_opportunities (
    opportunity_id text PRIMARY KEY,
    detected_at timestamptz NOT NULL,
    kind text NOT NULL CHECK (kind IN ('value', 'arbitrage', 'middle')),
    event_id text NOT NULL,
    sport text NOT NULL,
    market text NOT NULL,
    outcome text,                             -- the leg bet on; arbitrage legs are in details
    book text,
    price double precision CHECK (price > 1), -- decimal odds
    point double precision,
    fair_probability double precision CHECK (fair_probability BETWEEN 0 AND 1),
    edge double precision NOT NULL,           -- expected value per unit staked, or arb margin
    prediction_id text,
    details jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX betting_opportunities_detected_idx ON betting_opportunities (detected_at);
CREATE INDEX betting_opportunities_event_idx ON betting_opportunities (event_id);

CREATE TABLE bet_history (
    bet_id text PRIMARY KEY,
    event_id text NOT NULL,
    market text NOT NULL,
    outcome text NOT NULL,
    point double precision,
    price double precision NOT NULL CHECK (price > 1),   -- decimal odds taken
    stake numeric(18, 4) NOT NULL CHECK (stake > 0),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),  -- ISO 4217
    book text NOT NULL,
    prediction_id text,
    placed_at timestamptz NOT NULL,
    result text NOT NULL DEFAULT 'pending'
        CHECK (result IN ('pending', 'won', 'lost', 'push', 'void', 'half_won', 'half_lost')),
    settled_at timestamptz,
    payout numeric(18, 4) CHECK (payout >= 0),
    CHECK ((result = 'pending') = (settled_at IS NULL))
);

CREATE INDEX bet_history_placed_idx ON bet_history (placed_at);
CREATE INDEX bet_history_unsettled_idx ON bet_history (event_id) WHERE result = 'pending';

CREATE TABLE model_performance (
    model text NOT NULL,
    version text NOT NULL,
    window_start timestamptz NOT NULL,
    window_end timestamptz NOT NULL,
    predictions integer NOT NULL CHECK (predictions >= 0),
    settled integer NOT NULL DEFAULT 0 CHECK (settled >= 0),
    log_loss double precision,
    brier double precision,
    accuracy double precision,
    calibration_error double precision,
    roi double precision,
    clv double precision,                     -- mean closing-line value
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, version, window_start, window_end),
    CHECK (window_end > window_start)
);

CREATE TABLE system_alerts (
    alert_id text PRIMARY KEY,
    raised_at timestamptz NOT NULL,
    severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    kind text NOT NULL,
    message text NOT NULL,
    event_id text,
    details jsonb NOT NULL DEFAULT '{}',
    acknowledged_at timestamptz
);

CREATE INDEX system_alerts_raised_idx ON system_alerts (raised_at);
