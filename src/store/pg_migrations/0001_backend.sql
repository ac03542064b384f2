-- 0001: the merchant backend on PostgreSQL (`tilldesk serve --database postgres://…`, issue 23 phase 2).
--
-- What several `serve` instances share: tills, their one-time enrolment codes and token hashes, the orders and
-- refunds the tills asked for with their timelines, the numbers a till cancelled before its payment arrived, the
-- order feed, the staff and their sessions, and the audit trail. Money is BIGINT fen; times are timestamptz (UTC).
-- The catalogue (stores, acquirer accounts, routes, settings, keys) stays in each instance's data folder.
--
-- out_trade_no and out_request_no are UNIQUE: a retry, on any instance, finds the first write. `lease_owner` /
-- `lease_until` on orders and refunds: the instance working on an unfinished one (recovery), claimed with
-- `FOR UPDATE SKIP LOCKED`, so two instances never work on the same row at once.
CREATE TABLE tills (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id        BIGINT NOT NULL,
    store_code      TEXT NOT NULL,
    name            TEXT NOT NULL CHECK (length(trim(name)) > 0),
    token_hash      TEXT UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    enrolled_at     TIMESTAMPTZ,
    last_contact_at TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX tills_store ON tills(store_id);

CREATE TABLE enrolment_codes (
    code_hash  TEXT PRIMARY KEY,
    till_id    BIGINT NOT NULL REFERENCES tills(id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX enrolment_codes_till ON enrolment_codes(till_id);

CREATE TABLE orders (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    out_trade_no         TEXT NOT NULL UNIQUE,
    trade_no             TEXT,
    store_id             BIGINT NOT NULL,
    acquirer_id          BIGINT NOT NULL,
    operator_id          BIGINT,
    till_id              BIGINT REFERENCES tills(id),
    source               TEXT NOT NULL DEFAULT 'barcode' CHECK (source IN ('barcode', 'store_code')),
    subject              TEXT NOT NULL DEFAULT '',
    total_amount         BIGINT NOT NULL CHECK (total_amount > 0),
    currency             TEXT NOT NULL DEFAULT 'CNY',
    refunded_amount      BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= total_amount),
    status               TEXT NOT NULL CHECK (status IN ('PAYING', 'UNKNOWN', 'PAID', 'FAILED', 'CLOSED', 'CANCELLING',
                             'CANCELLED', 'NEEDS_ATTENTION', 'PARTIALLY_REFUNDED', 'REFUNDED')),
    attention            TEXT,
    auth_code_masked     TEXT,
    acquirer_merchant_id TEXT,
    terminal_id          TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    paid_at              TIMESTAMPTZ,
    updated_at           TIMESTAMPTZ NOT NULL,
    lease_owner          TEXT,
    lease_until          TIMESTAMPTZ
);
CREATE INDEX orders_store_created ON orders(store_id, created_at, id);
CREATE INDEX orders_created ON orders(created_at, id);
CREATE INDEX orders_unfinished ON orders(id) WHERE status IN ('PAYING', 'UNKNOWN', 'CANCELLING', 'NEEDS_ATTENTION');

CREATE TABLE order_events (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    at       TIMESTAMPTZ NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_events_order ON order_events(order_id, id);

CREATE TABLE refunds (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id       BIGINT NOT NULL REFERENCES orders(id),
    out_request_no TEXT NOT NULL UNIQUE,
    refund_amount  BIGINT NOT NULL CHECK (refund_amount > 0),
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('SUBMITTED', 'PROCESSING', 'SUCCESS', 'FAILED')),
    operator_id    BIGINT,
    till_id        BIGINT REFERENCES tills(id),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    lease_owner    TEXT,
    lease_until    TIMESTAMPTZ
);
CREATE INDEX refunds_order ON refunds(order_id);
CREATE INDEX refunds_unfinished ON refunds(id) WHERE status IN ('SUBMITTED', 'PROCESSING');

CREATE TABLE closed_numbers (
    out_trade_no TEXT PRIMARY KEY,
    till_id      BIGINT NOT NULL REFERENCES tills(id),
    closed_at    TIMESTAMPTZ NOT NULL
);

-- The order feed: every write of an order or of one of its refunds gives the order a new change number. Numbers are
-- taken under a transaction-scoped advisory lock held to commit, so they grow in commit order across instances and
-- a till paging with `since=` never skips a change committed late.
CREATE SEQUENCE order_feed_seq;
CREATE TABLE order_feed (
    order_id BIGINT PRIMARY KEY REFERENCES orders(id),
    seq      BIGINT NOT NULL UNIQUE
);
CREATE FUNCTION order_feed_bump(order_id BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(20233, 0);
    INSERT INTO order_feed (order_id, seq) VALUES (order_id, nextval('order_feed_seq'))
    ON CONFLICT ON CONSTRAINT order_feed_pkey DO UPDATE SET seq = EXCLUDED.seq;
END $$;
CREATE FUNCTION order_feed_on_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM order_feed_bump(NEW.id);
    RETURN NULL;
END $$;
CREATE FUNCTION order_feed_on_refund() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM order_feed_bump(NEW.order_id);
    RETURN NULL;
END $$;
-- A lease change alone is no change of the order.
CREATE TRIGGER order_feed_order AFTER INSERT OR UPDATE OF status, trade_no, paid_at, refunded_amount, attention
    ON orders FOR EACH ROW EXECUTE FUNCTION order_feed_on_order();
CREATE TRIGGER order_feed_refund AFTER INSERT OR UPDATE OF status ON refunds
    FOR EACH ROW EXECUTE FUNCTION order_feed_on_refund();

CREATE TABLE operators (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'back_office', 'cashier')),
    pin_hash     TEXT NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    failed_pins  BIGINT NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE operator_sessions (
    token_hash  TEXT PRIMARY KEY,
    till_id     BIGINT NOT NULL REFERENCES tills(id),
    operator_id BIGINT NOT NULL REFERENCES operators(id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX operator_sessions_till ON operator_sessions(till_id);

CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    operator_id BIGINT,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    before      TEXT,
    after       TEXT
);
