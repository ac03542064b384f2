-- The sandbox acquirers' own ledger: the truth the till is checked against. Amounts in fen, times UTC RFC 3339.
CREATE TABLE IF NOT EXISTS trades (
    id              INTEGER PRIMARY KEY,
    protocol        TEXT NOT NULL,            -- alipay | wechatpay
    account         TEXT NOT NULL,            -- Alipay app_id or WeChat mch_id
    acquirer_id     TEXT NOT NULL DEFAULT '', -- the acquirer that took it (ALIPAY, WECHATPAY, PARTNER1, …)
    merchant_id     TEXT NOT NULL DEFAULT '', -- the sub-merchant (store) it was taken for, else the account's pid / mch_id
    out_trade_no    TEXT NOT NULL,
    trade_no        TEXT NOT NULL UNIQUE,     -- Alipay trade_no / WeChat transaction_id
    auth_code       TEXT,
    subject         TEXT NOT NULL DEFAULT '',
    total_amount    INTEGER NOT NULL,
    refunded_amount INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,            -- WAITING | PAID | CLOSED | REVERSED
    pays_at         TEXT,                     -- a WAITING trade is paid at this time (NULL: the customer never pays)
    source          TEXT NOT NULL,            -- barcode | store_code | precreate | placeholder
    store_id        TEXT,
    terminal_id     TEXT,
    operator_id     TEXT,
    buyer_id        TEXT NOT NULL,
    cancel_action   TEXT,                     -- close | refund, once cancelled or reversed
    qr_code         TEXT,
    created_at      TEXT NOT NULL,
    paid_at         TEXT,
    closed_at       TEXT,
    UNIQUE (protocol, account, out_trade_no)
);
CREATE TABLE IF NOT EXISTS refunds (
    id             INTEGER PRIMARY KEY,
    trade_id       INTEGER NOT NULL REFERENCES trades(id),
    out_request_no TEXT NOT NULL,
    refund_no      TEXT NOT NULL UNIQUE,
    amount         INTEGER NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    succeeds_at    TEXT NOT NULL,            -- WeChat refunds stay PROCESSING until then
    UNIQUE (trade_id, out_request_no)
);
CREATE TABLE IF NOT EXISTS acquirer_merchants (
    acquirer_id  TEXT NOT NULL,
    merchant_id  TEXT NOT NULL,
    info_json    TEXT NOT NULL,
    status       TEXT NOT NULL,              -- pending_verification | active | failed
    reason       TEXT,
    active_at    TEXT NOT NULL,
    account      TEXT,                       -- the protocol account payments settle to (app_id / mch_id)
    created_at   TEXT NOT NULL,
    PRIMARY KEY (acquirer_id, merchant_id)
);
CREATE TABLE IF NOT EXISTS cds_indexes (
    cds_index    TEXT PRIMARY KEY,
    platform_id  TEXT NOT NULL,
    info_json    TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cds_bindings (
    cds_index    TEXT NOT NULL REFERENCES cds_indexes(cds_index),
    acquirer_id  TEXT NOT NULL,
    merchant_id  TEXT NOT NULL,
    bound_at     TEXT NOT NULL,
    PRIMARY KEY (cds_index, acquirer_id)
);
CREATE TABLE IF NOT EXISTS notifications (
    id           INTEGER PRIMARY KEY,
    protocol     TEXT NOT NULL,
    trade_no     TEXT NOT NULL,
    url          TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body         TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      TEXT NOT NULL,
    delivered_at TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL
);
