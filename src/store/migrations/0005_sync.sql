-- Issue 9: the sync worker's runs, received acquirer notifications, and references to secrets kept elsewhere.

-- One pass of the background sync: what it did and what went wrong.
CREATE TABLE sync_runs (
    id                 INTEGER PRIMARY KEY,
    trigger            TEXT NOT NULL,             -- timer, start, retry, cli, reconnect
    started_at         TEXT NOT NULL,
    finished_at        TEXT,
    online             INTEGER NOT NULL DEFAULT 0,
    outbox_delivered   INTEGER NOT NULL DEFAULT 0,
    outbox_pending     INTEGER NOT NULL DEFAULT 0,
    orders_refreshed   INTEGER NOT NULL DEFAULT 0,
    refunds_refreshed  INTEGER NOT NULL DEFAULT 0,
    bindings_refreshed INTEGER NOT NULL DEFAULT 0,
    bills_fetched      INTEGER NOT NULL DEFAULT 0,
    summary            TEXT NOT NULL DEFAULT '',
    errors             TEXT NOT NULL DEFAULT ''   -- one error per line, empty when all went well
);
CREATE INDEX sync_runs_recent ON sync_runs(started_at);

-- Asynchronous notifications as received: verified ones once per (protocol, notify_key); rejected ones logged.
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY,
    protocol      TEXT NOT NULL,                  -- alipay, wechatpay
    notify_key    TEXT NOT NULL,                  -- trade_no / transaction_id (or a digest of a rejected body)
    out_trade_no  TEXT,
    trade_no      TEXT,
    verified      INTEGER NOT NULL,
    outcome       TEXT NOT NULL,                  -- recorded, already_recorded, rejected
    detail        TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    times         INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX notifications_once ON notifications(protocol, notify_key) WHERE verified = 1;

-- Where each secret lives (never the secret itself): the OS keyring or the encrypted vault file.
CREATE TABLE secret_refs (
    name        TEXT PRIMARY KEY,                 -- alipay.app_private_key, wechatpay.api_key, ...
    backend     TEXT NOT NULL,                    -- keyring, vault
    locator     TEXT NOT NULL,                    -- the entry's name in that backend
    fingerprint TEXT NOT NULL,                    -- a short non-secret identifier (public key digest)
    updated_at  TEXT NOT NULL
);
