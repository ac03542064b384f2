-- 0006: only refund rows of a bill carry an out_request_no; payments (nearly every row) have none. Index only
-- the rows that have one: matching looks refunds up by value (out_request_no = ...), which this index serves, and
-- a million-row import no longer writes a million NULL entries.
DROP INDEX bill_rows_out_request_no;
CREATE INDEX bill_rows_out_request_no ON bill_rows(out_request_no) WHERE out_request_no IS NOT NULL;
