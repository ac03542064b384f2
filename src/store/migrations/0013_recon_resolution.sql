-- 0013: the resolution workflow and closed days (issue 18).
-- How a difference was resolved: adjusted (the local record was corrected), refunded (the customer was refunded;
-- resolution_ref: the refund's out_request_no, if any), written_off (an accepted loss or gain), matched (by hand to
-- a bill row: resolution_ref its trade_no, resolution_line its line), adopted (the bill's payment recorded as the
-- local order). NULL on differences resolved before this version. resolved_by: the operator; reopened_at: when a
-- resolution was taken back (the next run does not carry it over).
ALTER TABLE discrepancies ADD COLUMN resolution TEXT;
ALTER TABLE discrepancies ADD COLUMN resolution_ref TEXT;
ALTER TABLE discrepancies ADD COLUMN resolution_line INTEGER;
ALTER TABLE discrepancies ADD COLUMN resolved_by INTEGER REFERENCES operators(id);
ALTER TABLE discrepancies ADD COLUMN reopened_at TEXT;

-- A closed day: one acquirer account's day whose latest run had nothing open, closed by an operator, with its
-- report frozen as it was printed (text and JSON) so that it prints and exports the same bytes forever. Reopening
-- keeps the row (reopened_at/by) and lets the day be reconciled again; at most one closing of a day is in force.
CREATE TABLE recon_days (
    id           INTEGER PRIMARY KEY,
    acquirer_id  INTEGER NOT NULL REFERENCES acquirers(id),
    bill_date    TEXT NOT NULL,
    run_id       INTEGER NOT NULL REFERENCES recon_runs(id),
    closed_at    TEXT NOT NULL,
    closed_by    INTEGER REFERENCES operators(id),
    closed_by_name TEXT NOT NULL,
    report_json  TEXT NOT NULL,
    report_text  TEXT NOT NULL,
    reopened_at  TEXT,
    reopened_by  INTEGER REFERENCES operators(id),
    reopen_note  TEXT
);
CREATE UNIQUE INDEX recon_days_in_force ON recon_days(acquirer_id, bill_date) WHERE reopened_at IS NULL;
