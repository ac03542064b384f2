-- 0002: the acquirers' notifications received by any instance of a backend on PostgreSQL, recorded once (a verified
-- one by its platform and the acquirer's number), and the newest refused ones (a flood cannot fill the disk).
CREATE TABLE notifications (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    protocol     TEXT NOT NULL,
    notify_key   TEXT NOT NULL,
    out_trade_no TEXT,
    trade_no     TEXT,
    verified     BOOLEAN NOT NULL,
    outcome      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    times        BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX notifications_once ON notifications(protocol, notify_key) WHERE verified;
