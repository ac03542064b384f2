-- 0020: staff in the merchant backend (issue 23, phase 1b).
--
-- An enrolled till signs its operators in at the backend (`POST /v1/sign-in`), which checks the PIN against its own
-- `operators` and hands the till an operator session: a bearer token (kept here only as its SHA-256 hash) that names
-- the till and the operator, so the backend scopes the till API's lists by the operator's role itself.
CREATE TABLE backend_operator_sessions (
    token_hash  TEXT PRIMARY KEY,
    till_id     INTEGER NOT NULL REFERENCES backend_tills(id),
    operator_id INTEGER NOT NULL REFERENCES operators(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX backend_operator_sessions_till ON backend_operator_sessions(till_id);
