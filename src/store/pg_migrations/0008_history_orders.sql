-- 0008: a till's orders from before it joined the backend (issue 23): the orders a till sent up as its history (taken
-- store-direct with the till's own acquirer accounts), recorded for head office's lists and figures. The backend
-- never queries, cancels or refunds them at an acquirer.
CREATE TABLE history_orders (
    order_id    BIGINT PRIMARY KEY REFERENCES orders(id),
    till_id     BIGINT NOT NULL REFERENCES tills(id),
    received_at TIMESTAMPTZ NOT NULL
);
