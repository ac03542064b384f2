-- 0012: the bill archive (every downloaded or imported bill file, kept by content) and Alipay's account bill
-- (账务明细, bill_type=signcustomer) for the settlement check.

-- One archived bill file: the bytes live in <data>/bills/archive/<sha256>. A file is recorded once per acquirer
-- account, day and source; a failed import records nothing.
CREATE TABLE bill_archive (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL,                          -- lowercase hex of the file's bytes
    size          INTEGER NOT NULL,                       -- bytes
    source        TEXT NOT NULL,                          -- fetched | imported
    original_name TEXT NOT NULL,                          -- the file name as downloaded or given
    acquirer_id   INTEGER NOT NULL REFERENCES acquirers(id),
    bill_date     TEXT NOT NULL,                          -- YYYY-MM-DD (China business day)
    format        TEXT NOT NULL,                          -- alipay_zip / alipay_csv / wechat_text / alipay_account_*
    bill_type     TEXT NOT NULL DEFAULT '',               -- trade / signcustomer / ALL / SUCCESS / REFUND
    archived_at   TEXT NOT NULL,                          -- UTC RFC 3339
    UNIQUE (sha256, acquirer_id, bill_date, source)
);
CREATE INDEX bill_archive_day ON bill_archive(bill_date, acquirer_id);

-- Alipay's account bill of one day (账务明细): each balance movement, with the file's own totals.
CREATE TABLE account_bills (
    id             INTEGER PRIMARY KEY,
    acquirer_id    INTEGER NOT NULL REFERENCES acquirers(id),
    bill_date      TEXT NOT NULL,                         -- YYYY-MM-DD
    account        TEXT NOT NULL,                         -- 账号 (2088 pid + 0156)
    source_name    TEXT NOT NULL,
    content_hash   TEXT NOT NULL,                         -- sha256 of the file
    income_count   INTEGER NOT NULL,                      -- #收入合计
    income         INTEGER NOT NULL,                      -- fen
    expense_count  INTEGER NOT NULL,                      -- #支出合计
    expense        INTEGER NOT NULL,                      -- fen, positive
    imported_at    TEXT NOT NULL,
    UNIQUE (acquirer_id, bill_date)
);
CREATE TABLE account_bill_rows (
    id              INTEGER PRIMARY KEY,
    account_bill_id INTEGER NOT NULL REFERENCES account_bills(id) ON DELETE CASCADE,
    line_no         INTEGER NOT NULL,
    entry_no        TEXT NOT NULL,                        -- 账务流水号
    biz_no          TEXT NOT NULL,                        -- 业务流水号 (trade rows: the trade_no)
    out_trade_no    TEXT NOT NULL,                        -- 商户订单号
    subject         TEXT NOT NULL DEFAULT '',
    occurred_at     TEXT NOT NULL,                        -- UTC RFC 3339
    income          INTEGER NOT NULL,                     -- fen
    expense         INTEGER NOT NULL,                     -- fen, positive
    balance         INTEGER,                              -- fen, 账户余额
    biz_type        TEXT NOT NULL,                        -- 业务类型: 在线支付, 交易付款, 交易退款, 收费, 提现 …
    remark          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX account_bill_rows_bill ON account_bill_rows(account_bill_id, line_no);
