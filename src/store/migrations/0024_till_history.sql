-- 0024: a till's orders from before it joined a merchant backend, told apart (issue 23).
--
-- `pulled_orders`: the orders a till copied from a merchant backend (other tills' orders, store-code payments the
-- backend was notified of), as opposed to the ones it took itself. Only its own go up as its history when it joins a
-- backend; before this, a till that had been enrolled with one backend sent the other tills' orders to the next as
-- its own. Existing copies are the orders whose first event is `pulled`.
--
-- `history_answers`: what the backend answered for each order of the till's history (recorded, known, held,
-- not_settled, no_account, invalid). An order the backend holds as one it took itself (`held`: taken at this till
-- through that same backend before the till left and joined again) is refunded through it like any other.
CREATE TABLE pulled_orders (
    order_id INTEGER PRIMARY KEY REFERENCES orders(id)
);
INSERT INTO pulled_orders (order_id)
SELECT e.order_id FROM order_events e
WHERE e.kind = 'pulled' AND e.id = (SELECT MIN(f.id) FROM order_events f WHERE f.order_id = e.order_id);

CREATE TABLE history_answers (
    order_id    INTEGER PRIMARY KEY REFERENCES orders(id),
    outcome     TEXT NOT NULL CHECK (outcome IN ('recorded', 'known', 'held', 'not_settled', 'no_account', 'invalid')),
    detail      TEXT NOT NULL DEFAULT '',
    answered_at TEXT NOT NULL
);
