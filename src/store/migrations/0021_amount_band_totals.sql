-- 0021: the count and sums of an amount range over a long period, from running totals (issue 21).
--
-- An amount range ("≥ 100.00", "50.00–150.00") that splits a quarter's million orders about evenly was counted by
-- walking half a million index entries. Running totals per amount band × China day × store × status answer it
-- instead: the bands wholly inside the range are summed from this table, and only the orders of the (at most two)
-- bands that the range's ends cut through are walked, along the covering amount index. A filter by acquirer or
-- cashier, or with a search, is still counted over the orders.
--
-- A band is the order's amount rounded down to a step that grows with the amount, so that each holds a small share
-- of a merchant's orders: 1.00 yuan below 20.00, 2.00 below 50.00, 5.00 below 200.00, 10.00 below 500.00, 20.00
-- below 1,000.00, 50.00 below 2,000.00, 100.00 below 5,000.00, 200.00 below 10,000.00, then 1,000.00. The band is
-- stored as its lowest amount in fen; `store::order_query::amount_band` is the same rule in Rust (a test checks
-- that the two agree).

CREATE TABLE order_band_totals (
    band      INTEGER NOT NULL,             -- the band's lowest amount, fen
    day       TEXT NOT NULL,                -- YYYY-MM-DD, China time
    store_id  INTEGER NOT NULL,
    status    TEXT NOT NULL,
    orders    INTEGER NOT NULL DEFAULT 0,
    amount    INTEGER NOT NULL DEFAULT 0,
    refunded  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (band, day, store_id, status)
) WITHOUT ROWID;

INSERT INTO order_band_totals (band, day, store_id, status, orders, amount, refunded)
SELECT (total_amount - total_amount % CASE WHEN total_amount < 2000 THEN 100 WHEN total_amount < 5000 THEN 200 WHEN total_amount < 20000 THEN 500 WHEN total_amount < 50000 THEN 1000
            WHEN total_amount < 100000 THEN 2000 WHEN total_amount < 200000 THEN 5000 WHEN total_amount < 500000 THEN 10000 WHEN total_amount < 1000000 THEN 20000 ELSE 100000 END),
       COALESCE(date(created_at, '+8 hours'), ''), store_id, status, COUNT(*), SUM(total_amount), SUM(refunded_amount)
FROM orders GROUP BY 1, 2, 3, 4;

CREATE TRIGGER order_band_totals_insert AFTER INSERT ON orders BEGIN
    INSERT INTO order_band_totals (band, day, store_id, status, orders, amount, refunded)
    VALUES ((NEW.total_amount - NEW.total_amount % CASE WHEN NEW.total_amount < 2000 THEN 100 WHEN NEW.total_amount < 5000 THEN 200 WHEN NEW.total_amount < 20000 THEN 500 WHEN NEW.total_amount < 50000 THEN 1000
            WHEN NEW.total_amount < 100000 THEN 2000 WHEN NEW.total_amount < 200000 THEN 5000 WHEN NEW.total_amount < 500000 THEN 10000 WHEN NEW.total_amount < 1000000 THEN 20000 ELSE 100000 END),
            COALESCE(date(NEW.created_at, '+8 hours'), ''), NEW.store_id, NEW.status, 1, NEW.total_amount, NEW.refunded_amount)
    ON CONFLICT (band, day, store_id, status) DO UPDATE SET
        orders = orders + 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
END;

CREATE TRIGGER order_band_totals_delete AFTER DELETE ON orders BEGIN
    UPDATE order_band_totals
    SET orders = orders - 1, amount = amount - OLD.total_amount, refunded = refunded - OLD.refunded_amount
    WHERE band = (OLD.total_amount - OLD.total_amount % CASE WHEN OLD.total_amount < 2000 THEN 100 WHEN OLD.total_amount < 5000 THEN 200 WHEN OLD.total_amount < 20000 THEN 500 WHEN OLD.total_amount < 50000 THEN 1000
            WHEN OLD.total_amount < 100000 THEN 2000 WHEN OLD.total_amount < 200000 THEN 5000 WHEN OLD.total_amount < 500000 THEN 10000 WHEN OLD.total_amount < 1000000 THEN 20000 ELSE 100000 END)
      AND day = COALESCE(date(OLD.created_at, '+8 hours'), '') AND store_id = OLD.store_id AND status = OLD.status;
END;

CREATE TRIGGER order_band_totals_update
AFTER UPDATE OF status, total_amount, refunded_amount, created_at, store_id ON orders
WHEN OLD.status IS NOT NEW.status OR OLD.total_amount IS NOT NEW.total_amount
  OR OLD.refunded_amount IS NOT NEW.refunded_amount OR OLD.created_at IS NOT NEW.created_at
  OR OLD.store_id IS NOT NEW.store_id
BEGIN
    UPDATE order_band_totals
    SET orders = orders - 1, amount = amount - OLD.total_amount, refunded = refunded - OLD.refunded_amount
    WHERE band = (OLD.total_amount - OLD.total_amount % CASE WHEN OLD.total_amount < 2000 THEN 100 WHEN OLD.total_amount < 5000 THEN 200 WHEN OLD.total_amount < 20000 THEN 500 WHEN OLD.total_amount < 50000 THEN 1000
            WHEN OLD.total_amount < 100000 THEN 2000 WHEN OLD.total_amount < 200000 THEN 5000 WHEN OLD.total_amount < 500000 THEN 10000 WHEN OLD.total_amount < 1000000 THEN 20000 ELSE 100000 END)
      AND day = COALESCE(date(OLD.created_at, '+8 hours'), '') AND store_id = OLD.store_id AND status = OLD.status;
    INSERT INTO order_band_totals (band, day, store_id, status, orders, amount, refunded)
    VALUES ((NEW.total_amount - NEW.total_amount % CASE WHEN NEW.total_amount < 2000 THEN 100 WHEN NEW.total_amount < 5000 THEN 200 WHEN NEW.total_amount < 20000 THEN 500 WHEN NEW.total_amount < 50000 THEN 1000
            WHEN NEW.total_amount < 100000 THEN 2000 WHEN NEW.total_amount < 200000 THEN 5000 WHEN NEW.total_amount < 500000 THEN 10000 WHEN NEW.total_amount < 1000000 THEN 20000 ELSE 100000 END),
            COALESCE(date(NEW.created_at, '+8 hours'), ''), NEW.store_id, NEW.status, 1, NEW.total_amount, NEW.refunded_amount)
    ON CONFLICT (band, day, store_id, status) DO UPDATE SET
        orders = orders + 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
END;
