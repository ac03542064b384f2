//! Onboarding with acquirers, CDS binding, store codes (issue: onboarding and store codes).
