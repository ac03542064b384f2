-- 0022: shift reports at a merchant backend (issue 23). A till enrolled with a backend sends each shift it closes
-- (交接班) and each day close (日结) with its frozen figures, so that head office sees every till's handovers: one row
-- per till and till-side number (sent again, nothing changes). The times are the till's, UTC RFC 3339.
CREATE TABLE backend_shift_reports (
    id           INTEGER PRIMARY KEY,
    till_id      INTEGER NOT NULL REFERENCES backend_tills(id),
    kind         TEXT NOT NULL CHECK (kind IN ('shift', 'day_close')),
    till_ref     INTEGER NOT NULL,
    store_id     INTEGER NOT NULL REFERENCES stores(id),
    operator     TEXT NOT NULL,
    opened_at    TEXT,
    closed_at    TEXT NOT NULL,
    business_day TEXT,
    paid_count   INTEGER NOT NULL,
    paid_fen     INTEGER NOT NULL,
    refund_count INTEGER NOT NULL,
    refund_fen   INTEGER NOT NULL,
    net_fen      INTEGER NOT NULL,
    summary      TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    UNIQUE (till_id, kind, till_ref)
);
CREATE INDEX backend_shift_reports_store ON backend_shift_reports(store_id, closed_at, id);

-- At the till: which closed shifts and day closes it has sent to its backend (NULL: not yet, or not enrolled).
ALTER TABLE shifts ADD COLUMN reported_at TEXT;
ALTER TABLE day_closes ADD COLUMN reported_at TEXT;
