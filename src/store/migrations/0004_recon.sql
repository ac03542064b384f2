-- 0004: bills and reconciliation (对账). Adds what matching and the report need to the 0001 tables.

-- What the bill file was and whether its own totals add up.
ALTER TABLE bills ADD COLUMN format TEXT NOT NULL DEFAULT '';          -- alipay_zip / alipay_csv / wechat_text
ALTER TABLE bills ADD COLUMN totals_json TEXT NOT NULL DEFAULT '{}';   -- the bill's summary rows and the rows' sums
ALTER TABLE bills ADD COLUMN totals_mismatch TEXT;                     -- NULL when the summary matches the rows

-- One bill row in the acquirer's words. amount: the order amount of a payment, the (positive) refund amount of
-- a refund; fee: fen, rounded; fee_milli: the exact fee in 1/1000 fen (WeChat writes 5 decimals).
ALTER TABLE bill_rows ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE bill_rows ADD COLUMN fee_milli INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bill_rows ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;   -- 商家实收 / 应结订单金额
ALTER TABLE bill_rows ADD COLUMN discount INTEGER NOT NULL DEFAULT 0;  -- discounts and coupons on the row
ALTER TABLE bill_rows ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE bill_rows ADD COLUMN store_ref TEXT NOT NULL DEFAULT '';   -- 门店编号 / 设备号
CREATE INDEX bill_rows_trade_no ON bill_rows(trade_no);
CREATE INDEX bill_rows_out_request_no ON bill_rows(out_request_no);
CREATE INDEX bills_acquirer_date ON bills(acquirer_id, bill_date);

ALTER TABLE recon_runs ADD COLUMN acquirer_id INTEGER REFERENCES acquirers(id);
ALTER TABLE recon_runs ADD COLUMN bill_date TEXT;
CREATE INDEX recon_runs_acquirer_date ON recon_runs(acquirer_id, bill_date, id);

-- A difference, with everything the report shows and the clerk's resolution.
ALTER TABLE discrepancies ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN trade_no TEXT;
ALTER TABLE discrepancies ADD COLUMN out_request_no TEXT;
ALTER TABLE discrepancies ADD COLUMN local_status TEXT;
ALTER TABLE discrepancies ADD COLUMN bill_status TEXT;
ALTER TABLE discrepancies ADD COLUMN bill_line INTEGER;
ALTER TABLE discrepancies ADD COLUMN bill_row_id INTEGER;               -- no foreign key: a re-imported bill replaces rows
ALTER TABLE discrepancies ADD COLUMN occurred_at TEXT;
ALTER TABLE discrepancies ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN resolved_at TEXT;
