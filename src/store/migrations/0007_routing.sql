-- 0007: routing. An acquirer row is one acquirer contract (an *account*); its protocol follows from its kind. A
-- route says, per store, which account takes which wallet's payment codes, with the merchant id onboarding
-- returned (NULL: a direct contract, the payment goes to the account itself).
CREATE TABLE routes (
    store_id    INTEGER NOT NULL REFERENCES stores(id),
    wallet      TEXT NOT NULL CHECK (wallet IN ('alipay', 'wechatpay')),
    acquirer_id INTEGER NOT NULL REFERENCES acquirers(id),
    merchant_id TEXT,
    source      TEXT NOT NULL CHECK (source IN ('onboarding', 'chosen', 'direct')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (store_id, wallet)
);

-- Stores already onboarded: the first active acquirer of each protocol takes that wallet.
INSERT OR IGNORE INTO routes (store_id, wallet, acquirer_id, merchant_id, source, created_at, updated_at)
SELECT b.store_id, CASE a.kind WHEN 'wechatpay' THEN 'wechatpay' ELSE 'alipay' END, b.acquirer_id,
       b.merchant_id_at_acquirer, 'onboarding', b.updated_at, b.updated_at
FROM acquirer_bindings b JOIN acquirers a ON a.id = b.acquirer_id
WHERE b.status = 'active'
ORDER BY b.id;

-- Which merchant id at the acquirer took the order, and on which till.
ALTER TABLE orders ADD COLUMN acquirer_merchant_id TEXT;
ALTER TABLE orders ADD COLUMN terminal_id TEXT;
