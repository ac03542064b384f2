-- 0011: field-level differences. Each difference lists the fields that differ between the bill and the till
-- (amount, status, fee, refund amount, time, merchant id) with both values, as a JSON array of
-- {"field": …, "bill": …, "local": …}; the bill row keeps the merchant id it names (WeChat 特约商户号), to be
-- compared with the order's acquirer_merchant_id.
ALTER TABLE discrepancies ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';
ALTER TABLE bill_rows ADD COLUMN merchant_ref TEXT NOT NULL DEFAULT '';
