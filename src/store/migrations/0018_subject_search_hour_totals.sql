-- 0018: a frequent word over a million orders, and the 概览's hour-of-day chart, from small tables (issue 21).
--
-- A merchant sells a few hundred distinct things, so a word of the search box is looked up among the *distinct*
-- subjects (`order_subjects`, with its own trigram index), and the orders of the subjects it matched are read along
-- an `orders(subject, created_at, id)` index: the first page of "Sandwich" over a million orders reads a hundred
-- rows, not the 167,000 that match. Counts and sums of such a search over whole China days come from running totals
-- per day × subject (× store × acquirer × cashier × status), as 0017's `order_day_totals` does without a search.
--
-- The trigram index of 0017 over orders kept the subject of every order (the long posting lists that made the
-- search slow); it is replaced by one over the order numbers only, which a word of letters may still match
-- ("ABC" inside a trade_no).

DROP TRIGGER orders_fts_insert;
DROP TRIGGER orders_fts_delete;
DROP TRIGGER orders_fts_update;
DROP TABLE orders_fts;

CREATE VIRTUAL TABLE order_numbers_fts USING fts5(
    out_trade_no, trade_no,
    content = 'orders', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO order_numbers_fts(order_numbers_fts) VALUES ('rebuild');

CREATE TRIGGER order_numbers_fts_insert AFTER INSERT ON orders BEGIN
    INSERT INTO order_numbers_fts(rowid, out_trade_no, trade_no) VALUES (NEW.id, NEW.out_trade_no, NEW.trade_no);
END;
CREATE TRIGGER order_numbers_fts_delete AFTER DELETE ON orders BEGIN
    INSERT INTO order_numbers_fts(order_numbers_fts, rowid, out_trade_no, trade_no)
    VALUES ('delete', OLD.id, OLD.out_trade_no, OLD.trade_no);
END;
CREATE TRIGGER order_numbers_fts_update AFTER UPDATE OF out_trade_no, trade_no ON orders
WHEN OLD.out_trade_no IS NOT NEW.out_trade_no OR OLD.trade_no IS NOT NEW.trade_no
BEGIN
    INSERT INTO order_numbers_fts(order_numbers_fts, rowid, out_trade_no, trade_no)
    VALUES ('delete', OLD.id, OLD.out_trade_no, OLD.trade_no);
    INSERT INTO order_numbers_fts(rowid, out_trade_no, trade_no) VALUES (NEW.id, NEW.out_trade_no, NEW.trade_no);
END;

-- The distinct subjects and how many orders carry each (a subject whose count fell to 0 stays, matching nothing).
CREATE TABLE order_subjects (
    id      INTEGER PRIMARY KEY,
    subject TEXT NOT NULL UNIQUE,
    orders  INTEGER NOT NULL DEFAULT 0
);
CREATE VIRTUAL TABLE order_subjects_fts USING fts5(
    subject, content = 'order_subjects', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER order_subjects_fts_insert AFTER INSERT ON order_subjects BEGIN
    INSERT INTO order_subjects_fts(rowid, subject) VALUES (NEW.id, NEW.subject);
END;
CREATE TRIGGER order_subjects_fts_delete AFTER DELETE ON order_subjects BEGIN
    INSERT INTO order_subjects_fts(order_subjects_fts, rowid, subject) VALUES ('delete', OLD.id, OLD.subject);
END;
INSERT INTO order_subjects (subject, orders) SELECT subject, COUNT(*) FROM orders GROUP BY subject ORDER BY subject;

-- Covering: a search's page walks it in time order, and its count with an amount range (not in the running totals)
-- is read from the index alone.
CREATE INDEX orders_subject_created
    ON orders(subject, created_at, id, status, total_amount, refunded_amount, store_id, acquirer_id, operator_id);

-- The amount index of 0001 becomes covering too: the count and sums of an amount range are read from it alone.
DROP INDEX orders_amount;
CREATE INDEX orders_amount
    ON orders(total_amount, id, status, refunded_amount, created_at, store_id, acquirer_id, operator_id);

-- Running totals per China day × subject × store × acquirer × cashier (0: none) × status.
CREATE TABLE order_day_subject_totals (
    subject_id   INTEGER NOT NULL,
    day          TEXT NOT NULL,
    store_id     INTEGER NOT NULL,
    acquirer_id  INTEGER NOT NULL,
    operator_id  INTEGER NOT NULL,
    status       TEXT NOT NULL,
    orders       INTEGER NOT NULL DEFAULT 0,
    amount       INTEGER NOT NULL DEFAULT 0,
    refunded     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subject_id, day, store_id, acquirer_id, operator_id, status)
) WITHOUT ROWID;
INSERT INTO order_day_subject_totals
    (subject_id, day, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
SELECT s.id, COALESCE(date(o.created_at, '+8 hours'), ''), o.store_id, o.acquirer_id, COALESCE(o.operator_id, 0),
       o.status, COUNT(*), SUM(o.total_amount), SUM(o.refunded_amount)
FROM orders o JOIN order_subjects s ON s.subject = o.subject
GROUP BY 1, 2, 3, 4, 5, 6;

-- Running totals per China day × China hour of day × store × acquirer × cashier × status: the 概览's chart.
CREATE TABLE order_hour_totals (
    day          TEXT NOT NULL,
    hour         INTEGER NOT NULL,            -- 0–23, China time
    store_id     INTEGER NOT NULL,
    acquirer_id  INTEGER NOT NULL,
    operator_id  INTEGER NOT NULL,
    status       TEXT NOT NULL,
    orders       INTEGER NOT NULL DEFAULT 0,
    amount       INTEGER NOT NULL DEFAULT 0,
    refunded     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, hour, store_id, acquirer_id, operator_id, status)
) WITHOUT ROWID;
INSERT INTO order_hour_totals (day, hour, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
SELECT COALESCE(date(created_at, '+8 hours'), ''), COALESCE(CAST(strftime('%H', created_at, '+8 hours') AS INTEGER), 0),
       store_id, acquirer_id, COALESCE(operator_id, 0), status, COUNT(*), SUM(total_amount), SUM(refunded_amount)
FROM orders GROUP BY 1, 2, 3, 4, 5, 6;

-- One trigger per kind of write keeps all three in step, in this order: the subject first (its id is needed next).
CREATE TRIGGER order_subject_hour_totals_insert AFTER INSERT ON orders BEGIN
    INSERT INTO order_subjects (subject, orders) VALUES (NEW.subject, 1)
    ON CONFLICT (subject) DO UPDATE SET orders = orders + 1;
    INSERT INTO order_day_subject_totals
        (subject_id, day, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
    VALUES ((SELECT id FROM order_subjects WHERE subject = NEW.subject), COALESCE(date(NEW.created_at, '+8 hours'), ''),
            NEW.store_id, NEW.acquirer_id, COALESCE(NEW.operator_id, 0), NEW.status, 1, NEW.total_amount,
            NEW.refunded_amount)
    ON CONFLICT (subject_id, day, store_id, acquirer_id, operator_id, status) DO UPDATE SET
        orders = orders + 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
    INSERT INTO order_hour_totals (day, hour, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
    VALUES (COALESCE(date(NEW.created_at, '+8 hours'), ''),
            COALESCE(CAST(strftime('%H', NEW.created_at, '+8 hours') AS INTEGER), 0),
            NEW.store_id, NEW.acquirer_id, COALESCE(NEW.operator_id, 0), NEW.status, 1, NEW.total_amount,
            NEW.refunded_amount)
    ON CONFLICT (day, hour, store_id, acquirer_id, operator_id, status) DO UPDATE SET
        orders = orders + 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
END;

CREATE TRIGGER order_subject_hour_totals_delete AFTER DELETE ON orders BEGIN
    UPDATE order_subjects SET orders = orders - 1 WHERE subject = OLD.subject;
    UPDATE order_day_subject_totals
    SET orders = orders - 1, amount = amount - OLD.total_amount, refunded = refunded - OLD.refunded_amount
    WHERE subject_id = (SELECT id FROM order_subjects WHERE subject = OLD.subject)
      AND day = COALESCE(date(OLD.created_at, '+8 hours'), '') AND store_id = OLD.store_id
      AND acquirer_id = OLD.acquirer_id AND operator_id = COALESCE(OLD.operator_id, 0) AND status = OLD.status;
    UPDATE order_hour_totals
    SET orders = orders - 1, amount = amount - OLD.total_amount, refunded = refunded - OLD.refunded_amount
    WHERE day = COALESCE(date(OLD.created_at, '+8 hours'), '')
      AND hour = COALESCE(CAST(strftime('%H', OLD.created_at, '+8 hours') AS INTEGER), 0)
      AND store_id = OLD.store_id AND acquirer_id = OLD.acquirer_id
      AND operator_id = COALESCE(OLD.operator_id, 0) AND status = OLD.status;
END;

CREATE TRIGGER order_subject_hour_totals_update
AFTER UPDATE OF subject, status, total_amount, refunded_amount, created_at, store_id, acquirer_id, operator_id ON orders
WHEN OLD.subject IS NOT NEW.subject OR OLD.status IS NOT NEW.status OR OLD.total_amount IS NOT NEW.total_amount
  OR OLD.refunded_amount IS NOT NEW.refunded_amount OR OLD.created_at IS NOT NEW.created_at
  OR OLD.store_id IS NOT NEW.store_id OR OLD.acquirer_id IS NOT NEW.acquirer_id
  OR OLD.operator_id IS NOT NEW.operator_id
BEGIN
    -- Take the old row out ...
    UPDATE order_subjects SET orders = orders - 1 WHERE subject = OLD.subject;
    UPDATE order_day_subject_totals
    SET orders = orders - 1, amount = amount - OLD.total_amount, refunded = refunded - OLD.refunded_amount
    WHERE subject_id = (SELECT id FROM order_subjects WHERE subject = OLD.subject)
      AND day = COALESCE(date(OLD.created_at, '+8 hours'), '') AND store_id = OLD.store_id
      AND acquirer_id = OLD.acquirer_id AND operator_id = COALESCE(OLD.operator_id, 0) AND status = OLD.status;
    UPDATE order_hour_totals
    SET orders = orders - 1, amount = amount - OLD.total_amount, refunded = refunded - OLD.refunded_amount
    WHERE day = COALESCE(date(OLD.created_at, '+8 hours'), '')
      AND hour = COALESCE(CAST(strftime('%H', OLD.created_at, '+8 hours') AS INTEGER), 0)
      AND store_id = OLD.store_id AND acquirer_id = OLD.acquirer_id
      AND operator_id = COALESCE(OLD.operator_id, 0) AND status = OLD.status;
    -- ... and the new one in.
    INSERT INTO order_subjects (subject, orders) VALUES (NEW.subject, 1)
    ON CONFLICT (subject) DO UPDATE SET orders = orders + 1;
    INSERT INTO order_day_subject_totals
        (subject_id, day, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
    VALUES ((SELECT id FROM order_subjects WHERE subject = NEW.subject), COALESCE(date(NEW.created_at, '+8 hours'), ''),
            NEW.store_id, NEW.acquirer_id, COALESCE(NEW.operator_id, 0), NEW.status, 1, NEW.total_amount,
            NEW.refunded_amount)
    ON CONFLICT (subject_id, day, store_id, acquirer_id, operator_id, status) DO UPDATE SET
        orders = orders + 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
    INSERT INTO order_hour_totals (day, hour, store_id, acquirer_id, operator_id, status, orders, amount, refunded)
    VALUES (COALESCE(date(NEW.created_at, '+8 hours'), ''),
            COALESCE(CAST(strftime('%H', NEW.created_at, '+8 hours') AS INTEGER), 0),
            NEW.store_id, NEW.acquirer_id, COALESCE(NEW.operator_id, 0), NEW.status, 1, NEW.total_amount,
            NEW.refunded_amount)
    ON CONFLICT (day, hour, store_id, acquirer_id, operator_id, status) DO UPDATE SET
        orders = orders + 1, amount = amount + excluded.amount, refunded = refunded + excluded.refunded;
END;
