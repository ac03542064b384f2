-- 0005: shift reports (交接班, 日结) the tills send, as the SQLite backend's migration 0022: one row per till and
-- till-side number; the times are the till's, UTC RFC 3339 text.
CREATE TABLE shift_reports (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    till_id      BIGINT NOT NULL REFERENCES tills(id),
    kind         TEXT NOT NULL CHECK (kind IN ('shift', 'day_close')),
    till_ref     BIGINT NOT NULL,
    store_id     BIGINT NOT NULL,
    operator     TEXT NOT NULL,
    opened_at    TEXT,
    closed_at    TEXT NOT NULL,
    business_day TEXT,
    paid_count   BIGINT NOT NULL,
    paid_fen     BIGINT NOT NULL,
    refund_count BIGINT NOT NULL,
    refund_fen   BIGINT NOT NULL,
    net_fen      BIGINT NOT NULL,
    summary      TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (till_id, kind, till_ref)
);
CREATE INDEX shift_reports_store ON shift_reports(store_id, closed_at, id);
