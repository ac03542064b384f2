//! Merchants, stores, acquirers and bindings (onboarding).
