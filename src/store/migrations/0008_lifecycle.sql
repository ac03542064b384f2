-- 0008: money-state integrity (issue 17).
-- Why an order needs attention: 'cancel' (a cancel/reverse the acquirer has not confirmed yet; the sync worker keeps
-- sending it) or 'mismatch' (the acquirer's amount, currency or merchant differ from the order: a person decides).
ALTER TABLE orders ADD COLUMN attention TEXT CHECK (attention IN ('cancel', 'mismatch'));
UPDATE orders SET attention = 'cancel' WHERE status = 'NEEDS_ATTENTION';

-- An outbox entry's state, written only by the outbox transition function.
ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'delivered', 'refused'));
UPDATE outbox SET state = CASE
    WHEN delivered_at IS NULL THEN 'pending'
    WHEN last_error LIKE 'refused:%' THEN 'refused'
    ELSE 'delivered' END;

-- Recovery and the sync worker look for open refunds.
CREATE INDEX IF NOT EXISTS refunds_open ON refunds(status) WHERE status IN ('SUBMITTED', 'PROCESSING');
