-- 0019: the merchant backend (`tilldesk serve`, issue 23, phase 1).
--
-- The backend keeps its tills, their one-time enrolment codes and their bearer tokens (SHA-256 hashes only, never
-- the token or the code), which till wrote each order and refund, and the order numbers a till cancelled before its
-- payment ever arrived (so a late pay with that number is refused instead of charged).
--
-- `order_feed` gives every order a change number (`seq`) that grows with each write of the order or of one of its
-- refunds, in commit order (SQLite has one writer at a time): the tills page through `GET /v1/orders?since=SEQ`.
-- It exists in every database (a till's too; one small row write per order change); existing orders get their id.
CREATE TABLE backend_tills (
    id              INTEGER PRIMARY KEY,
    store_id        INTEGER NOT NULL REFERENCES stores(id),
    name            TEXT NOT NULL CHECK (length(trim(name)) > 0),
    token_hash      TEXT UNIQUE,
    created_at      TEXT NOT NULL,
    enrolled_at     TEXT,
    last_contact_at TEXT,
    revoked_at      TEXT
);
CREATE INDEX backend_tills_store ON backend_tills(store_id);

CREATE TABLE backend_enrolment_codes (
    code_hash  TEXT PRIMARY KEY,
    till_id    INTEGER NOT NULL REFERENCES backend_tills(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX backend_enrolment_codes_till ON backend_enrolment_codes(till_id);

CREATE TABLE backend_order_tills (
    order_id INTEGER PRIMARY KEY REFERENCES orders(id),
    till_id  INTEGER NOT NULL REFERENCES backend_tills(id)
);

CREATE TABLE backend_refund_tills (
    refund_id INTEGER PRIMARY KEY REFERENCES refunds(id),
    till_id   INTEGER NOT NULL REFERENCES backend_tills(id)
);

CREATE TABLE backend_closed_numbers (
    out_trade_no TEXT PRIMARY KEY,
    till_id      INTEGER NOT NULL REFERENCES backend_tills(id),
    closed_at    TEXT NOT NULL
);

CREATE TABLE order_feed (
    order_id INTEGER PRIMARY KEY,
    seq      INTEGER NOT NULL UNIQUE
);
INSERT INTO order_feed (order_id, seq) SELECT id, id FROM orders;

CREATE TRIGGER order_feed_order_insert AFTER INSERT ON orders BEGIN
    INSERT OR REPLACE INTO order_feed (order_id, seq)
    VALUES (NEW.id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM order_feed));
END;
CREATE TRIGGER order_feed_order_update AFTER UPDATE ON orders BEGIN
    INSERT OR REPLACE INTO order_feed (order_id, seq)
    VALUES (NEW.id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM order_feed));
END;
CREATE TRIGGER order_feed_order_delete AFTER DELETE ON orders BEGIN
    DELETE FROM order_feed WHERE order_id = OLD.id;
END;
CREATE TRIGGER order_feed_refund_insert AFTER INSERT ON refunds BEGIN
    INSERT OR REPLACE INTO order_feed (order_id, seq)
    VALUES (NEW.order_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM order_feed));
END;
CREATE TRIGGER order_feed_refund_update AFTER UPDATE ON refunds BEGIN
    INSERT OR REPLACE INTO order_feed (order_id, seq)
    VALUES (NEW.order_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM order_feed));
END;
