-- 0017: orders at a million rows (issue 21).
--
-- A trigram full-text index over what the Orders search box promises: the subject, our out_trade_no and the
-- acquirer's trade_no. It reads its text from `orders` (external content) and is kept in step by the triggers below,
-- so every insert or update of an order (checkout, recovery, bill adoption, seeding) updates it in the same
-- transaction. Existing orders are indexed by the 'rebuild'.
CREATE VIRTUAL TABLE orders_fts USING fts5(
    subject, out_trade_no, trade_no,
    content = 'orders', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO orders_fts(orders_fts) VALUES ('rebuild');

CREATE TRIGGER orders_fts_insert AFTER INSERT ON orders BEGIN
    INSERT INTO orders_fts(rowid, subject, out_trade_no, trade_no)
    VALUES (NEW.id, NEW.subject, NEW.out_trade_no, NEW.trade_no);
END;
CREATE TRIGGER orders_fts_delete AFTER DELETE ON orders BEGIN
    INSERT INTO orders_fts(orders_fts, rowid, subject, out_trade_no, trade_no)
    VALUES ('delete', OLD.id, OLD.subject, OLD.out_trade_no, OLD.trade_no);
END;
CREATE TRIGGER orders_fts_update AFTER UPDATE OF subject, out_trade_no, trade_no ON orders
WHEN OLD.subject IS NOT NEW.subject OR OLD.out_trade_no IS NOT NEW.out_trade_no OR OLD.trade_no IS NOT NEW.trade_no
BEGIN
    INSERT INTO orders_fts(orders_fts, rowid, subject, out_trade_no, trade_no)
    VALUES ('delete', OLD.id, OLD.subject, OLD.out_trade_no, OLD.trade_no);
    INSERT INTO orders_fts(rowid, subject, out_trade_no, trade_no)
    VALUES (NEW.id, NEW.subject, NEW.out_trade_no, NEW.trade_no);
END;

-- Running totals per China business day (the calendar day at UTC+8) × store × acquirer (the wallet) × cashier
-- (0: none) × status: how many orders, their total and their refunded amount. Kept by triggers on every write of an
-- order (every status change goes through the transition function's UPDATE, every refund's success raises
-- refunded_amount there), so a count or a sum for a filter of whole days, stores, acquirers, cashiers and statuses
-- is read from a few hundred rows instead of a million.
CREATE TABLE order_day_totals (
    day          TEXT NOT NULL,               -- YYYY-MM-DD, China time
    store_id     INTEGER NOT NULL,
    acquirer_id  INTEGER NOT NULL,
    operator_id  INTEGER NOT NULL,            -- 0: no cashier recorded
    status       TEXT NOT NULL,
    orders       INTEGER NOT NULL DEFAULT 0,
    amount       INTEGER NOT NULL DEFAULT 0,
    refunded     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, store_id, acquirer_id, operator_id, status)
) WITHOUT ROWID;

INSERT INTO order_day_totals (day, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
SELECT COALESCE(date(created_at, '+8 hours'), ''), store_id, acquirer_id, COALESCE(operator_id, 0), status,
       COUNT(*), SUM(total_amount), SUM(refunded_amount)
FROM orders GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER order_day_totals_insert AFTER INSERT ON orders BEGIN
    INSERT INTO order_day_totals (day, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
    VALUES (COALESCE(date(NEW.created_at, '+8 hours'), ''), NEW.store_id, NEW.acquirer_id, COALESCE(NEW.operator_id, 0),
            NEW.status, 1, NEW.total_amount, NEW.refunded_amount)
    ON CONFLICT (day, store_id, acquirer_id, operator_id, status) DO UPDATE SET
        orders = orders + 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
END;
CREATE TRIGGER order_day_totals_delete AFTER DELETE ON orders BEGIN
    INSERT INTO order_day_totals (day, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
    VALUES (COALESCE(date(OLD.created_at, '+8 hours'), ''), OLD.store_id, OLD.acquirer_id, COALESCE(OLD.operator_id, 0),
            OLD.status, -1, -OLD.total_amount, -OLD.refunded_amount)
    ON CONFLICT (day, store_id, acquirer_id, operator_id, status) DO UPDATE SET
        orders = orders - 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
END;
CREATE TRIGGER order_day_totals_update
AFTER UPDATE OF status, total_amount, refunded_amount, created_at, store_id, acquirer_id, operator_id ON orders
WHEN OLD.status IS NOT NEW.status OR OLD.total_amount IS NOT NEW.total_amount
  OR OLD.refunded_amount IS NOT NEW.refunded_amount OR OLD.created_at IS NOT NEW.created_at
  OR OLD.store_id IS NOT NEW.store_id OR OLD.acquirer_id IS NOT NEW.acquirer_id
  OR OLD.operator_id IS NOT NEW.operator_id
BEGIN
    INSERT INTO order_day_totals (day, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
    VALUES (COALESCE(date(OLD.created_at, '+8 hours'), ''), OLD.store_id, OLD.acquirer_id, COALESCE(OLD.operator_id, 0),
            OLD.status, -1, -OLD.total_amount, -OLD.refunded_amount)
    ON CONFLICT (day, store_id, acquirer_id, operator_id, status) DO UPDATE SET
        orders = orders - 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
    INSERT INTO order_day_totals (day, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
    VALUES (COALESCE(date(NEW.created_at, '+8 hours'), ''), NEW.store_id, NEW.acquirer_id, COALESCE(NEW.operator_id, 0),
            NEW.status, 1, NEW.total_amount, NEW.refunded_amount)
    ON CONFLICT (day, store_id, acquirer_id, operator_id, status) DO UPDATE SET
        orders = orders + 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
END;
