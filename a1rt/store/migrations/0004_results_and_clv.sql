-- Final results, which settle bets and score the live predictions, and each bet's closing line.

CREATE TABLE event_results (
    event_id text PRIMARY KEY,                -- the canonical id predictions and odds carry
    sport text NOT NULL,
    home_team text NOT NULL,
    away_team text NOT NULL,
    home_score integer NOT NULL CHECK (home_score >= 0),
    away_score integer NOT NULL CHECK (away_score >= 0),
    status text NOT NULL DEFAULT 'final' CHECK (status IN ('final', 'cancelled', 'postponed')),
    commence_time timestamptz NOT NULL,
    final_at timestamptz NOT NULL,            -- when a1rt learnt the result
    source text NOT NULL
);

CREATE INDEX event_results_final_idx ON event_results (final_at);

-- The closing line a bet is measured against (the last snapshot before kick-off at the sharp
-- book, else at the bet's own book) and its closing line value (betting-math §2.6):
-- clv_price = D_bet/D_close - 1, clv_probability = p_fair_close - 1/D_bet,
-- clv_fair = D_bet * p_fair_close - 1. NULL when there was no comparable close.
ALTER TABLE bet_history
    ADD COLUMN close_book text,
    ADD COLUMN close_price double precision CHECK (close_price > 1),
    ADD COLUMN close_point double precision,
    ADD COLUMN close_probability double precision CHECK (close_probability BETWEEN 0 AND 1),
    ADD COLUMN clv_price double precision,
    ADD COLUMN clv_probability double precision,
    ADD COLUMN clv_fair double precision;

CREATE INDEX bet_history_event_idx ON bet_history (event_id, placed_at);
CREATE INDEX bet_history_prediction_idx ON bet_history (prediction_id)
    WHERE prediction_id IS NOT NULL;
