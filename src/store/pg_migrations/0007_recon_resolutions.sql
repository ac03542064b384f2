-- 0007: resolving reconciliation differences and closing days on PostgreSQL. A published difference keeps the keys a
-- later run of its day matches it by (kind, reason, out_trade_no, out_request_no) and the bill row it names, and how
-- it was resolved: the kind, the clerk's note, a reference (a refund's out_request_no, a bill row's trade_no), the
-- bill line, who and when. A reopening clears the resolution and says when. A closed day freezes its report (JSON and
-- text, as the till prints them); reopening the day keeps the closing, marked reopened.
ALTER TABLE recon_differences
    ADD COLUMN kind             TEXT NOT NULL DEFAULT '',
    ADD COLUMN reason           TEXT NOT NULL DEFAULT '',
    ADD COLUMN out_trade_no     TEXT,
    ADD COLUMN out_request_no   TEXT,
    ADD COLUMN trade_no         TEXT,
    ADD COLUMN bill_line        BIGINT,
    ADD COLUMN resolution       TEXT,
    ADD COLUMN note             TEXT,
    ADD COLUMN resolution_ref   TEXT,
    ADD COLUMN resolution_line  BIGINT,
    ADD COLUMN resolved_by      BIGINT,
    ADD COLUMN resolved_by_name TEXT,
    ADD COLUMN resolved_at      TEXT,
    ADD COLUMN reopened_at      TEXT;

CREATE TABLE recon_closed_days (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    acquirer_id    BIGINT NOT NULL,
    bill_date      TEXT NOT NULL,
    run_id         BIGINT NOT NULL REFERENCES recon_runs(id),
    closed_at      TEXT NOT NULL,
    closed_by      BIGINT,
    closed_by_name TEXT NOT NULL,
    report_json    TEXT NOT NULL,
    report_text    TEXT NOT NULL,
    reopened_at    TEXT,
    reopened_by    BIGINT,
    reopen_note    TEXT
);
-- One closing in force per day.
CREATE UNIQUE INDEX recon_closed_days_open ON recon_closed_days(acquirer_id, bill_date) WHERE reopened_at IS NULL;
