-- 0010: a bill's type, so that the bills of one day combine instead of replacing each other. WeChat Pay serves
-- ALL (every payment and refund of the day), SUCCESS (payments) and REFUND (refunds); Alipay's trade bill
-- (业务账单) is one complete type, `trade`. A day's effective bills: one complete bill, or a SUCCESS and/or a
-- REFUND bill (see store::recon).
ALTER TABLE bills ADD COLUMN bill_type TEXT NOT NULL DEFAULT 'ALL';

-- Bills imported before: each day had one bill (a later import replaced it). Alipay's are trade bills; a WeChat
-- bill is told by its rows: refunds only → REFUND, payments only → SUCCESS (its layout could not hold a refund), both
-- or none → ALL.
UPDATE bills SET bill_type = CASE
    WHEN format LIKE 'alipay%'
      OR acquirer_id IN (SELECT id FROM acquirers WHERE kind IN ('alipay', 'alipayplus')) THEN 'trade'
    WHEN EXISTS (SELECT 1 FROM bill_rows r WHERE r.bill_id = bills.id AND r.kind = 'refund')
     AND NOT EXISTS (SELECT 1 FROM bill_rows r WHERE r.bill_id = bills.id AND r.kind <> 'refund') THEN 'REFUND'
    WHEN EXISTS (SELECT 1 FROM bill_rows r WHERE r.bill_id = bills.id AND r.kind <> 'refund')
     AND NOT EXISTS (SELECT 1 FROM bill_rows r WHERE r.bill_id = bills.id AND r.kind = 'refund') THEN 'SUCCESS'
    ELSE 'ALL'
END;

-- The hash of a bill's rows alone, when its content hash covers more (Alipay's 业务明细(汇总) figures): a file with
-- the same rows and nothing more (the detail CSV taken out of the zip) is then known as the same bill. NULL: the
-- content hash is the rows' hash.
ALTER TABLE bills ADD COLUMN rows_hash TEXT;
