-- 0003: the backend's catalogue (stores, acquirer accounts, routes, live settings: a SQLite image, the schema every
-- TillDesk reads) and its key vault (the encrypted vault file: Argon2id + AES-256-GCM, opened with
-- TILLDESK_PASSPHRASE), shared by every instance. A change is a new version, never an update in place; instances
-- serve the newest. The last versions are kept to look back at.
CREATE TABLE catalogue_versions (
    version        BIGINT PRIMARY KEY,
    published_at   TIMESTAMPTZ NOT NULL,
    published_by   TEXT NOT NULL,
    sqlite_schema  INTEGER NOT NULL,
    catalogue      BYTEA NOT NULL,
    catalogue_hash TEXT NOT NULL,
    vault          BYTEA,
    stores         INTEGER NOT NULL,
    acquirers      INTEGER NOT NULL
);
