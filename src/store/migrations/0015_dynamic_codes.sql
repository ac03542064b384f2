-- 0015: dynamic codes (主扫, issue 20). An order the customer pays by scanning a code the till shows is an ordinary
-- order (same table, same transition function) plus this row: its kind, the wallet whose code it is, the code text
-- once the acquirer made it (never replaced: one code, one trade per sale) and when the code stops being payable.
CREATE TABLE dynamic_codes (
    order_id    INTEGER PRIMARY KEY REFERENCES orders(id),
    wallet      TEXT NOT NULL CHECK (wallet IN ('alipay', 'wechatpay')),
    code_text   TEXT,
    expires_at  TEXT NOT NULL,                  -- UTC, RFC 3339
    created_at  TEXT NOT NULL
);
