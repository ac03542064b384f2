-- 0016: shifts (交接班) and day close (日结), issue 20. A shift is one operator's time at one till (store and
-- terminal; '' when the till has no terminal id) from opened_at to closed_at (UTC). At close its summary is computed
-- and frozen as JSON, so that a reprint months later shows the same figures. A day close freezes a store's China
-- business day the same way; reopening (an owner) marks it and lets the day be closed again.
CREATE TABLE shifts (
    id          INTEGER PRIMARY KEY,
    store_id    INTEGER NOT NULL REFERENCES stores(id),
    terminal_id TEXT NOT NULL DEFAULT '',
    operator_id INTEGER NOT NULL REFERENCES operators(id),
    opened_at   TEXT NOT NULL,
    closed_at   TEXT,
    closed_by   INTEGER REFERENCES operators(id),
    summary     TEXT,                           -- the frozen summary (JSON), written once at close
    CHECK ((closed_at IS NULL) = (summary IS NULL))
);
-- One open shift per operator per till.
CREATE UNIQUE INDEX shifts_one_open ON shifts(store_id, terminal_id, operator_id) WHERE closed_at IS NULL;
CREATE INDEX shifts_store_opened ON shifts(store_id, opened_at);

CREATE TABLE day_closes (
    id           INTEGER PRIMARY KEY,
    store_id     INTEGER NOT NULL REFERENCES stores(id),
    business_day TEXT NOT NULL,                 -- the China calendar day, YYYY-MM-DD
    closed_at    TEXT NOT NULL,
    closed_by    INTEGER REFERENCES operators(id),
    summary      TEXT NOT NULL,                 -- the frozen summary (JSON)
    reopened_at  TEXT,
    reopened_by  INTEGER REFERENCES operators(id)
);
-- One standing close per store and day.
CREATE UNIQUE INDEX day_closes_one ON day_closes(store_id, business_day) WHERE reopened_at IS NULL;

-- The frozen summaries never change once written.
CREATE TRIGGER shifts_frozen BEFORE UPDATE OF summary, closed_at ON shifts WHEN OLD.summary IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a closed shift is frozen'); END;
CREATE TRIGGER day_closes_frozen BEFORE UPDATE OF summary, closed_at, business_day ON day_closes
BEGIN SELECT RAISE(ABORT, 'a day close is frozen'); END;
