-- 0001: the foundation schema. Money columns are INTEGER minor units (fen); times are UTC RFC 3339 text.

CREATE TABLE merchants (
    id              INTEGER PRIMARY KEY,
    legal_name      TEXT NOT NULL,
    display_name    TEXT NOT NULL,            -- Latin, <= 25 characters (EMVCo tag 59)
    display_name_zh TEXT NOT NULL DEFAULT '', -- EMVCo language template (tag 64)
    mcc             TEXT NOT NULL DEFAULT '',
    country         TEXT NOT NULL DEFAULT 'CN',
    city            TEXT NOT NULL DEFAULT '',
    postal_code     TEXT NOT NULL DEFAULT '',
    currency        TEXT NOT NULL DEFAULT 'CNY',
    created_at      TEXT NOT NULL
);

CREATE TABLE stores (
    id          INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants(id),
    store_code  TEXT NOT NULL UNIQUE,         -- the merchant's own store number (store_id on the wire)
    name        TEXT NOT NULL,
    name_zh     TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    contact     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

CREATE TABLE acquirers (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('alipay', 'wechatpay', 'alipayplus')),
    name        TEXT NOT NULL UNIQUE,
    mode        TEXT NOT NULL DEFAULT 'sandbox' CHECK (mode IN ('sandbox', 'live')),
    gateway_url TEXT NOT NULL DEFAULT '',
    config_json TEXT NOT NULL DEFAULT '{}',   -- app_id / mch_id and key references; never the secrets themselves
    created_at  TEXT NOT NULL
);

CREATE TABLE acquirer_bindings (
    id                      INTEGER PRIMARY KEY,
    store_id                INTEGER NOT NULL REFERENCES stores(id),
    acquirer_id             INTEGER NOT NULL REFERENCES acquirers(id),
    status                  TEXT NOT NULL CHECK (status IN ('pending_verification', 'active', 'failed')),
    merchant_id_at_acquirer TEXT,
    cds_platform_id         TEXT,
    cds_index               TEXT,
    failure_reason          TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    UNIQUE (store_id, acquirer_id)
);
CREATE INDEX acquirer_bindings_cds_index ON acquirer_bindings(cds_index);

CREATE TABLE operators (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'back_office', 'cashier')),
    pin_hash   TEXT NOT NULL,                 -- Argon2 PHC string
    active     INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE orders (
    id               INTEGER PRIMARY KEY,
    out_trade_no     TEXT NOT NULL UNIQUE,
    trade_no         TEXT,
    store_id         INTEGER NOT NULL REFERENCES stores(id),
    acquirer_id      INTEGER NOT NULL REFERENCES acquirers(id),
    operator_id      INTEGER REFERENCES operators(id),
    source           TEXT NOT NULL DEFAULT 'barcode' CHECK (source IN ('barcode', 'store_code')),
    subject          TEXT NOT NULL DEFAULT '',
    total_amount     INTEGER NOT NULL CHECK (total_amount > 0),
    currency         TEXT NOT NULL DEFAULT 'CNY',
    refunded_amount  INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= total_amount),
    status           TEXT NOT NULL,
    auth_code_masked TEXT,
    created_at       TEXT NOT NULL,
    paid_at          TEXT,
    updated_at       TEXT NOT NULL
);
CREATE INDEX orders_created_at ON orders(created_at, id);
CREATE INDEX orders_amount ON orders(total_amount, id);
CREATE INDEX orders_store_created ON orders(store_id, created_at);
CREATE INDEX orders_acquirer_created ON orders(acquirer_id, created_at);
CREATE INDEX orders_status_created ON orders(status, created_at);
CREATE INDEX orders_operator_created ON orders(operator_id, created_at);
CREATE INDEX orders_trade_no ON orders(trade_no);

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders(id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,                -- created, paying, poll, paid, cancel, reverse, refund, ...
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_events_order ON order_events(order_id, id);

CREATE TABLE refunds (
    id             INTEGER PRIMARY KEY,
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    out_request_no TEXT NOT NULL UNIQUE,
    refund_amount  INTEGER NOT NULL CHECK (refund_amount > 0),
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL,
    operator_id    INTEGER REFERENCES operators(id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX refunds_order ON refunds(order_id);
CREATE INDEX refunds_created_at ON refunds(created_at);

CREATE TABLE bills (
    id           INTEGER PRIMARY KEY,
    acquirer_id  INTEGER NOT NULL REFERENCES acquirers(id),
    bill_date    TEXT NOT NULL,               -- the acquirer's day, YYYY-MM-DD
    source_name  TEXT NOT NULL,
    content_hash TEXT NOT NULL UNIQUE,        -- importing the same bill twice changes nothing
    row_count    INTEGER NOT NULL DEFAULT 0,
    imported_at  TEXT NOT NULL
);

CREATE TABLE bill_rows (
    id             INTEGER PRIMARY KEY,
    bill_id        INTEGER NOT NULL REFERENCES bills(id) ON DELETE CASCADE,
    line_no        INTEGER NOT NULL,
    trade_no       TEXT,
    out_trade_no   TEXT,
    out_request_no TEXT,
    kind           TEXT NOT NULL,             -- payment / refund, in the bill's own words
    amount         INTEGER NOT NULL,
    fee            INTEGER NOT NULL DEFAULT 0,
    occurred_at    TEXT NOT NULL
);
CREATE INDEX bill_rows_bill ON bill_rows(bill_id);
CREATE INDEX bill_rows_out_trade_no ON bill_rows(out_trade_no);

CREATE TABLE recon_runs (
    id          INTEGER PRIMARY KEY,
    bill_id     INTEGER REFERENCES bills(id),
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    summary     TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE discrepancies (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER REFERENCES recon_runs(id),
    kind         TEXT NOT NULL,
    out_trade_no TEXT,
    local_amount INTEGER,
    bill_amount  INTEGER,
    explanation  TEXT NOT NULL,
    resolved     INTEGER NOT NULL DEFAULT 0,
    note         TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX discrepancies_run ON discrepancies(run_id, kind);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    operator_id INTEGER REFERENCES operators(id),
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    before      TEXT,
    after       TEXT
);
-- The audit log is append-only.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,            -- cancel, reverse, refund, cds_bind, ...
    idempotency_key TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    delivered_at    TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX outbox_pending ON outbox(delivered_at, next_attempt_at);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
