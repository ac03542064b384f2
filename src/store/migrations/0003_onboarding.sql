-- 0003: onboarding with several acquirers, CDS binding and store codes.

-- The Chinese city for the EMVCo language template (tag 64/02).
ALTER TABLE merchants ADD COLUMN city_zh TEXT NOT NULL DEFAULT '';

-- Which store-code format the store prints: 'auto' = Alipay+ MPM once a CDS index exists, else EMVCo.
ALTER TABLE stores ADD COLUMN code_format TEXT NOT NULL DEFAULT 'auto'
    CHECK (code_format IN ('auto', 'alipayplus', 'emvco'));

-- The acquirer's own id on its onboarding API (the sandbox's ALIPAY, WECHATPAY, PARTNER1).
ALTER TABLE acquirers ADD COLUMN onboarding_code TEXT;
CREATE UNIQUE INDEX acquirers_onboarding_code ON acquirers(onboarding_code) WHERE onboarding_code IS NOT NULL;

-- The identifier the acquirer puts in store codes (EMVCo template 00 / Alipay+ code issuer id), as it told us.
ALTER TABLE acquirer_bindings ADD COLUMN issuer_guid TEXT;

-- Every onboarding step, with its time (UTC): submitted, verified, failed, registered on CDS, bound, ...
CREATE TABLE binding_events (
    id         INTEGER PRIMARY KEY,
    binding_id INTEGER NOT NULL REFERENCES acquirer_bindings(id),
    at         TEXT NOT NULL,
    step       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX binding_events_binding ON binding_events(binding_id, id);
