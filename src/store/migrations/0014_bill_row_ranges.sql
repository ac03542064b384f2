-- 0014: a bill's rows are found by their row-id range, not by an index on bill_id.
--
-- An import writes a bill's rows one after another, so their ids form a range (first_row..last_row, kept by the
-- import's writer as it commits); reading a day's bills walks those ranges of the table itself. The bill_id index
-- cost a million-row import a tenth of its time and served nothing the ranges do not. (Deleting a bill's rows goes
-- by the range too; the foreign key's cascade still works, it is just not what the till uses.)
ALTER TABLE bills ADD COLUMN first_row INTEGER;
ALTER TABLE bills ADD COLUMN last_row INTEGER;
UPDATE bills SET
    first_row = (SELECT MIN(id) FROM bill_rows WHERE bill_id = bills.id),
    last_row = (SELECT MAX(id) FROM bill_rows WHERE bill_id = bills.id);
DROP INDEX bill_rows_bill;
