-- 0023: a till's orders from before it joined a merchant backend (issue 23). At the backend: the orders a till sent
-- up as its history (taken store-direct with the till's own acquirer accounts), recorded for head office's lists and
-- figures; the backend never queries, cancels or refunds them at an acquirer. At a till nothing is kept here: the till
-- remembers in its settings which of its orders were taken before it joined (`backend.history_upto`, the last order's
-- id then) and how far it has sent them (`backend.history_sent`).
CREATE TABLE backend_history_orders (
    order_id    INTEGER PRIMARY KEY REFERENCES orders(id),
    till_id     INTEGER NOT NULL REFERENCES backend_tills(id),
    received_at TEXT NOT NULL
);
