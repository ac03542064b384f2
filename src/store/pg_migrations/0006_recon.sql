-- 0006: bills and reconciliation on PostgreSQL. Each acquirer account's day is one job (`recon_jobs`), claimed by one
-- instance at a time under a lease (a crashed instance's job is taken over when its lease ends). The instance that
-- runs it downloads the bill, reconciles it in a scratch database of its own and publishes the outcome here in one
-- transaction: the bill files as the acquirer served them (gzipped), the run with its report, its differences with their
-- stores, and the bill's rows summed per store.
CREATE TABLE recon_jobs (
    acquirer_id BIGINT NOT NULL,
    bill_date   TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('due', 'done', 'no_bill')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT,
    next_try_at TIMESTAMPTZ NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    done_at     TIMESTAMPTZ,
    run_id      BIGINT,
    PRIMARY KEY (acquirer_id, bill_date)
);
CREATE INDEX recon_jobs_due ON recon_jobs(next_try_at) WHERE state = 'due';

CREATE TABLE recon_runs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    acquirer_id BIGINT NOT NULL,
    bill_date   TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    instance    TEXT NOT NULL,
    report      TEXT NOT NULL
);
CREATE INDEX recon_runs_day ON recon_runs(acquirer_id, bill_date, id);

CREATE TABLE recon_bills (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      BIGINT NOT NULL REFERENCES recon_runs(id),
    acquirer_id BIGINT NOT NULL,
    bill_date   TEXT NOT NULL,
    bill_type   TEXT NOT NULL,
    source_name TEXT NOT NULL,
    row_count   BIGINT NOT NULL,
    imported_at TEXT NOT NULL,
    -- The file as the acquirer served it, gzipped.
    content     BYTEA NOT NULL
);
CREATE INDEX recon_bills_run ON recon_bills(run_id);
CREATE INDEX recon_bills_day ON recon_bills(acquirer_id, bill_date, id);

CREATE TABLE recon_differences (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id   BIGINT NOT NULL REFERENCES recon_runs(id),
    store_id BIGINT,
    resolved BOOLEAN NOT NULL
);
CREATE INDEX recon_differences_run ON recon_differences(run_id, id);

CREATE TABLE recon_run_shares (
    run_id         BIGINT NOT NULL REFERENCES recon_runs(id),
    store_id       BIGINT,
    rows           BIGINT NOT NULL,
    payment_count  BIGINT NOT NULL,
    payment_amount BIGINT NOT NULL,
    refund_count   BIGINT NOT NULL,
    refund_amount  BIGINT NOT NULL,
    fee_milli      BIGINT NOT NULL
);
CREATE UNIQUE INDEX recon_run_shares_store ON recon_run_shares(run_id, COALESCE(store_id, 0));
