-- 0004: dynamic codes (主扫) taken through the backend. As in the till's own database (its migration 0015), an order
-- the customer pays by scanning a code the till shows is an ordinary order plus this row: the wallet whose code it
-- is, the code once the acquirer made it (never replaced: one code, one trade per sale) and when it stops being
-- payable. Recovery closes such an order (never cancels or reverses it) once its code has expired.
CREATE TABLE dynamic_codes (
    order_id    BIGINT PRIMARY KEY REFERENCES orders(id),
    wallet      TEXT NOT NULL CHECK (wallet IN ('alipay', 'wechatpay')),
    code_text   TEXT,
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
