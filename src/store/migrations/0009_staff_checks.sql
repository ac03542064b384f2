-- 0009: staff checks. Who did a change when no operator was signed in ("command line", "window"), and the PIN
-- lockout: wrong PINs in a row per operator and until when (unix seconds, UTC) the next try is refused.
ALTER TABLE audit_log ADD COLUMN actor TEXT;
ALTER TABLE operators ADD COLUMN failed_pins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operators ADD COLUMN locked_until INTEGER;
