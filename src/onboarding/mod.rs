//! Onboarding a store with several acquirers, the CDS platform, and the store's code.
//!
//! The three flows of the Alipay+ MPM document (seed `alipay-plus-mpm-cds-flows.txt`):
//! 1. [`Onboarder::onboard`] without CDS: submit the merchant, wait while the acquirer verifies it, store the
//!    binding with the merchant id it assigned; the store's code then carries that acquirer's reference data.
//! 2. [`Onboarder::onboard`] with CDS: the same, then the acquirer registers the merchant on the CDS platform and
//!    TillDesk stores the CDS platform id and merchant CDS index; the code then carries the CDS data.
//! 3. [`Onboarder::bind_code`]: read an existing code, take its CDS index, onboard acquirer 2 and ask it to bind
//!    to that index; the same printed code then reaches both acquirers.
//!
//! Every step is written to the store's binding with its time ([`crate::store::Setup::save_binding`]) and reported
//! through the progress callback; the flows can be cancelled between steps and while waiting.

pub mod codes;
pub mod profile;
pub mod steps;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use codes::{BuiltCode, CodeCheck, WalletLine, build_for_store, check_code, read_code_file};
pub use profile::{FieldIssue, Problem, validate_merchant, validate_store};
pub use steps::Step;

use crate::channel::cds::{CdsClient, CdsError, IndexListing, MerchantState};
use crate::model::{AcquirerBinding, AcquirerId, AcquirerKind, BindingId, BindingStatus, ChannelMode, StoreId};
use crate::mpm::{CdsData, MpmError};
use crate::store::onboarding::OnboardingAcquirer;
use crate::store::{Store, StoreError};

/// The sandbox's acquirers (docs/SANDBOX.md): onboarding id, name, kind.
pub const SANDBOX_ACQUIRERS: &[(&str, &str, AcquirerKind)] = &[
    ("ALIPAY", "Alipay (sandbox)", AcquirerKind::Alipay),
    ("WECHATPAY", "WeChat Pay (sandbox)", AcquirerKind::WechatPay),
    ("PARTNER1", "Alipay+ partner acquirer (sandbox)", AcquirerKind::AlipayPlus),
];

/// Makes sure the sandbox's acquirers exist locally (adopting the rows checkout created).
pub fn ensure_sandbox_acquirers(db: &mut Store) -> Result<Vec<OnboardingAcquirer>, StoreError> {
    for (code, name, kind) in SANDBOX_ACQUIRERS {
        db.setup_mut().ensure_onboarding_acquirer(*kind, name, code, ChannelMode::Sandbox)?;
    }
    db.setup().onboarding_acquirers()
}

#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the code cannot be used: {0}")]
    Code(#[from] MpmError),
    #[error(transparent)]
    Platform(#[from] CdsError),
    #[error(
        "the CDS platform did not answer while binding {acquirer} to {cds_index}; the request is queued and the \
         background sync sends it until the platform answers"
    )]
    BindQueued { acquirer: String, cds_index: String },
    #[error("{path}: {detail}")]
    File { path: String, detail: String },
    #[error("there is no store {0:?}; `tilldesk onboard stores` lists them")]
    UnknownStore(String),
    #[error("there is no acquirer {0:?} with an onboarding id; `tilldesk onboard acquirers` lists them")]
    UnknownAcquirer(String),
    #[error("fix the merchant profile and store before onboarding: {}", join(.0))]
    InvalidProfile(Vec<FieldIssue>),
    #[error("store {store_code} is already onboarded with {acquirer} (merchant id {merchant_id})")]
    AlreadyOnboarded { store_code: String, acquirer: String, merchant_id: String },
    #[error(
        "store {store_code} already has the merchant CDS index {cds_index} (through {acquirer}): bind further \
         acquirers to its existing code instead of registering again"
    )]
    StoreHasCdsIndex { store_code: String, cds_index: String, acquirer: String },
    #[error("{acquirer} is already bound to the merchant CDS index {cds_index}; it cannot be bound twice")]
    AlreadyBound { acquirer: String, cds_index: String },
    #[error(
        "the CDS platform has no merchant index {cds_index:?}: the code was not registered on this platform, or \
         it was mistyped"
    )]
    UnknownCdsIndex { cds_index: String },
    #[error("this code names the CDS platform {in_code:?}, but the platform asked is {asked:?}")]
    WrongPlatform { in_code: String, asked: String },
    #[error(
        "this code's merchant CDS index {cds_index} belongs to store {owner}, not to store {store_code}: open \
         store {store_code}'s own code"
    )]
    CodeOfAnotherStore { cds_index: String, owner: String, store_code: String },
    #[error(
        "this code's merchant CDS index {cds_index} is not store {store_code}'s own ({own_index}): open store \
         {store_code}'s own code"
    )]
    NotThisStoresCode { cds_index: String, own_index: String, store_code: String },
    #[error("{acquirer} refused the merchant: {reason}")]
    VerificationFailed { acquirer: String, reason: String },
    #[error(
        "{acquirer} is still verifying merchant {merchant_id} after {waited_secs} s; its status is saved — \
         refresh later"
    )]
    StillPending { acquirer: String, merchant_id: String, waited_secs: u64 },
    #[error("store {store_code} has no active acquirer and no CDS index yet: onboard it first")]
    NotOnboarded { store_code: String },
    #[error("cancelled; what was done so far is saved")]
    Cancelled,
}

fn join(issues: &[FieldIssue]) -> String {
    issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; ")
}

/// How often and how long to wait while an acquirer verifies a merchant.
#[derive(Debug, Clone, Copy)]
pub struct PollPolicy {
    pub interval: Duration,
    pub timeout: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy { interval: Duration::from_millis(500), timeout: Duration::from_secs(60) }
    }
}

/// Set from anywhere to stop a running flow at its next step.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    /// The flag itself, for work that takes an `AtomicBool` (exports).
    pub fn as_atomic(&self) -> &AtomicBool {
        &self.0
    }
}

/// One step a flow took, for a progress list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// `submitting`, `submitted`, `pending_verification`, `active`, `failed`, `cds_registered`, `looking_up`,
    /// `cds_bound`, … ([`Step::name`]).
    pub step: &'static str,
    /// The step in English (the command line, the log).
    pub detail: String,
    /// The step as a kind with its values, for the UI to phrase.
    pub event: Step,
}

/// The result of binding a further acquirer to an existing code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindOutcome {
    pub binding: AcquirerBinding,
    /// What the CDS platform now lists for the index: every acquirer the printed code reaches.
    pub listing: IndexListing,
}

/// Runs the onboarding flows against one onboarding/CDS server, writing every step to the database.
pub struct Onboarder<'a> {
    pub db: &'a mut Store,
    pub client: &'a CdsClient,
    pub poll: PollPolicy,
    pub cancel: CancelFlag,
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
}

impl Onboarder<'_> {
    fn report(&self, event: Step) {
        (self.progress)(Progress { step: event.name(), detail: event.to_string(), event });
    }

    /// Writes a step to the binding's timeline and reports it.
    fn record(&mut self, state: &AcquirerBinding, event: Step) -> Result<AcquirerBinding, OnboardingError> {
        let saved = self.db.setup_mut().save_binding(state, event.name(), &event.to_stored())?;
        self.report(event);
        Ok(saved)
    }

    /// Adds a step to the binding's timeline (no change to the binding) and reports it.
    fn note(&mut self, binding: BindingId, event: Step) -> Result<(), OnboardingError> {
        self.db.setup_mut().add_binding_event(binding, event.name(), &event.to_stored())?;
        self.report(event);
        Ok(())
    }

    fn check_cancel(&self) -> Result<(), OnboardingError> {
        if self.cancel.is_cancelled() { Err(OnboardingError::Cancelled) } else { Ok(()) }
    }

    fn acquirer(&self, id: AcquirerId) -> Result<OnboardingAcquirer, OnboardingError> {
        self.db
            .setup()
            .onboarding_acquirers()?
            .into_iter()
            .find(|a| a.acquirer.id == id)
            .ok_or_else(|| OnboardingError::UnknownAcquirer(id.to_string()))
    }

    fn store_code(&self, id: StoreId) -> Result<String, OnboardingError> {
        Ok(self.db.setup().store(id)?.ok_or_else(|| OnboardingError::UnknownStore(id.to_string()))?.store_code)
    }

    /// Flow 1 (`with_cds = false`) and flow 2 (`with_cds = true`).
    pub async fn onboard(
        &mut self,
        store_id: StoreId,
        acquirer_id: AcquirerId,
        with_cds: bool,
    ) -> Result<AcquirerBinding, OnboardingError> {
        let acquirer = self.acquirer(acquirer_id)?;
        let store_code = self.store_code(store_id)?;
        let bindings = self.db.setup().bindings_for_store(store_id)?;
        let existing = bindings.iter().find(|b| b.acquirer_id == acquirer_id);
        if with_cds {
            if let Some(b) = existing.filter(|b| b.cds_index.is_some()) {
                self.report(Step::AlreadyOnCds);
                return Ok(b.clone());
            }
            if let Some(other) = bindings.iter().find(|b| b.cds_index.is_some()) {
                let name = self.acquirer(other.acquirer_id).map(|a| a.onboarding_code).unwrap_or_default();
                return Err(OnboardingError::StoreHasCdsIndex {
                    store_code,
                    cds_index: other.cds_index.clone().unwrap_or_default(),
                    acquirer: name,
                });
            }
        } else if let Some(b) = existing.filter(|b| b.status == BindingStatus::Active) {
            return Err(OnboardingError::AlreadyOnboarded {
                store_code,
                acquirer: acquirer.onboarding_code.clone(),
                merchant_id: b.merchant_id_at_acquirer.clone().unwrap_or_default(),
            });
        }
        let binding = self.ensure_active(store_id, &acquirer).await?;
        if !with_cds {
            self.report(Step::Done {
                store_code,
                acquirer: acquirer.onboarding_code.clone(),
                issuer_guid: binding.issuer_guid.clone().unwrap_or_else(|| "?".into()),
                merchant_id: binding.merchant_id_at_acquirer.clone().unwrap_or_else(|| "?".into()),
            });
            return Ok(binding);
        }
        self.check_cancel()?;
        let merchant_id = binding.merchant_id_at_acquirer.clone().unwrap_or_default();
        self.report(Step::RegisteringCds {
            acquirer: acquirer.onboarding_code.clone(),
            merchant_id: merchant_id.clone(),
        });
        let cds = match self.client.register_on_cds(&acquirer.onboarding_code, &merchant_id).await {
            Ok(cds) => cds,
            Err(e) if e.code() == Some("already_registered") => {
                match self.client.merchant_status(&acquirer.onboarding_code, &merchant_id).await?.cds {
                    Some(cds) => cds,
                    None => return Err(e.into()),
                }
            }
            Err(e) => {
                self.note(binding.id, Step::CdsRefused { code: e.code().map(str::to_owned) })?;
                return Err(e.into());
            }
        };
        let state = AcquirerBinding {
            cds_platform_id: Some(cds.platform_id.clone()),
            cds_index: Some(cds.cds_index.clone()),
            ..binding
        };
        self.record(
            &state,
            Step::CdsRegistered { platform_id: cds.platform_id.clone(), cds_index: cds.cds_index.clone() },
        )
    }

    /// Flow 3: bind a further acquirer to the CDS index of an existing code (its text, already read from a
    /// picture or pasted).
    pub async fn bind_code(
        &mut self,
        store_id: StoreId,
        acquirer_id: AcquirerId,
        code_text: &str,
    ) -> Result<BindOutcome, OnboardingError> {
        let acquirer = self.acquirer(acquirer_id)?;
        let store_code = self.store_code(store_id)?;
        let decoded = crate::mpm::decode_store_code(code_text)?;
        let cds = decoded.require_cds()?.clone();
        self.report(Step::CodeRead { platform_id: cds.platform_id.clone(), cds_index: cds.cds_index.clone() });
        // The code must be this store's: its own index, or one no other store here uses.
        let own = self.db.setup().bindings_for_store(store_id)?;
        if let Some(mine) = own.iter().find_map(|b| b.cds_index.clone())
            && mine != cds.cds_index
        {
            return Err(OnboardingError::NotThisStoresCode { cds_index: cds.cds_index, own_index: mine, store_code });
        }
        if let Some(other) =
            self.db.setup().bindings_with_cds_index(&cds.cds_index)?.iter().find(|b| b.store_id != store_id)
        {
            return Err(OnboardingError::CodeOfAnotherStore {
                cds_index: cds.cds_index,
                owner: self.store_code(other.store_id)?,
                store_code,
            });
        }
        if own.iter().any(|b| b.acquirer_id == acquirer_id && b.cds_index.as_deref() == Some(&cds.cds_index)) {
            return Err(OnboardingError::AlreadyBound { acquirer: acquirer.onboarding_code, cds_index: cds.cds_index });
        }
        self.check_cancel()?;
        self.report(Step::LookingUp { cds_index: cds.cds_index.clone() });
        let listing = lookup(self.client, &cds).await?;
        if listing.acquirers.iter().any(|a| a.acquirer_code.eq_ignore_ascii_case(&acquirer.onboarding_code)) {
            return Err(OnboardingError::AlreadyBound { acquirer: acquirer.onboarding_code, cds_index: cds.cds_index });
        }
        let binding = self.ensure_active(store_id, &acquirer).await?;
        self.check_cancel()?;
        let merchant_id = binding.merchant_id_at_acquirer.clone().unwrap_or_default();
        self.report(Step::Binding {
            acquirer: acquirer.onboarding_code.clone(),
            merchant_id: merchant_id.clone(),
            cds_index: cds.cds_index.clone(),
        });
        let listing = match self.client.bind_to_index(&acquirer.onboarding_code, &cds.cds_index, &merchant_id).await {
            Ok(l) => l,
            // No (readable) answer: the platform may or may not have bound it. The request goes to the outbox;
            // the background sync sends it again until the platform answers (a repeat answers "already bound").
            Err(e @ (CdsError::Transport { .. } | CdsError::BadResponse { .. })) => {
                let payload = serde_json::json!({
                    "store_id": store_id.0,
                    "acquirer_id": acquirer_id.0,
                    "acquirer_code": acquirer.onboarding_code,
                    "platform_id": cds.platform_id,
                    "cds_index": cds.cds_index,
                    "merchant_id": merchant_id,
                })
                .to_string();
                let key = format!("cds_bind:{}:{}", acquirer.onboarding_code, cds.cds_index);
                self.db.sync_mut().enqueue_outbox(CDS_BIND_OUTBOX, &key, &payload)?;
                tracing::warn!(error = %e, "no answer from the CDS platform while binding; queued");
                self.note(binding.id, Step::BindQueued { cds_index: cds.cds_index.clone() })?;
                return Err(OnboardingError::BindQueued {
                    acquirer: acquirer.onboarding_code,
                    cds_index: cds.cds_index,
                });
            }
            Err(e) => {
                self.note(binding.id, Step::CdsRefused { code: e.code().map(str::to_owned) })?;
                return Err(match e.code() {
                    Some("already_bound") => {
                        OnboardingError::AlreadyBound { acquirer: acquirer.onboarding_code, cds_index: cds.cds_index }
                    }
                    Some("unknown_cds_index") => OnboardingError::UnknownCdsIndex { cds_index: cds.cds_index },
                    _ => e.into(),
                });
            }
        };
        let reaches: Vec<String> = listing.acquirers.iter().map(|a| a.acquirer_code.clone()).collect();
        let state = AcquirerBinding {
            cds_platform_id: Some(cds.platform_id.clone()),
            cds_index: Some(cds.cds_index.clone()),
            ..binding
        };
        let saved = self.record(&state, Step::Bound { cds_index: cds.cds_index.clone(), reaches })?;
        Ok(BindOutcome { binding: saved, listing })
    }

    /// Asks the acquirer once for the status of a pending binding and records a change.
    pub async fn refresh(
        &mut self,
        store_id: StoreId,
        acquirer_id: AcquirerId,
    ) -> Result<AcquirerBinding, OnboardingError> {
        let acquirer = self.acquirer(acquirer_id)?;
        let store_code = self.store_code(store_id)?;
        let binding =
            self.db.setup().binding(store_id, acquirer_id)?.ok_or(OnboardingError::NotOnboarded { store_code })?;
        let Some(merchant_id) = binding.merchant_id_at_acquirer.clone() else { return Ok(binding) };
        if binding.status != BindingStatus::PendingVerification {
            return Ok(binding);
        }
        let state = self.client.merchant_status(&acquirer.onboarding_code, &merchant_id).await?;
        self.apply_status(binding, &state)
    }
}

/// What the CDS platform lists for the code's index, refusing an unknown index or another platform.
async fn lookup(client: &CdsClient, cds: &CdsData) -> Result<IndexListing, OnboardingError> {
    {
        let listing = match client.lookup_index(&cds.cds_index).await {
            Ok(l) => l,
            Err(e) if e.code() == Some("unknown_cds_index") => {
                return Err(OnboardingError::UnknownCdsIndex { cds_index: cds.cds_index.clone() });
            }
            Err(e) => return Err(e.into()),
        };
        if listing.cds.platform_id != cds.platform_id {
            return Err(OnboardingError::WrongPlatform {
                in_code: cds.platform_id.clone(),
                asked: listing.cds.platform_id,
            });
        }
        Ok(listing)
    }
}

impl Onboarder<'_> {
    /// Records a status the acquirer reported, if it changed.
    fn apply_status(
        &mut self,
        binding: AcquirerBinding,
        state: &MerchantState,
    ) -> Result<AcquirerBinding, OnboardingError> {
        if state.status == binding.status {
            return Ok(binding);
        }
        let event = match state.status {
            BindingStatus::Active => Step::Verified { merchant_id: state.merchant_id.clone() },
            BindingStatus::Failed => Step::Failed { reason: state.reason.clone() },
            BindingStatus::PendingVerification => Step::VerifyingAgain,
        };
        let new = AcquirerBinding {
            status: state.status,
            failure_reason: state.reason.clone().filter(|_| state.status == BindingStatus::Failed),
            issuer_guid: Some(state.issuer_guid.clone()),
            ..binding
        };
        self.record(&new, event)
    }

    /// An active merchant at this acquirer for the store: reuses an active binding, waits for a pending one,
    /// otherwise submits the merchant (again, after a failure).
    async fn ensure_active(
        &mut self,
        store_id: StoreId,
        acquirer: &OnboardingAcquirer,
    ) -> Result<AcquirerBinding, OnboardingError> {
        let existing = self.db.setup().binding(store_id, acquirer.acquirer.id)?;
        match existing {
            Some(b) if b.status == BindingStatus::Active && b.merchant_id_at_acquirer.is_some() => {
                self.report(Step::AlreadyActive { acquirer: acquirer.onboarding_code.clone() });
                return Ok(b);
            }
            Some(b) if b.status == BindingStatus::PendingVerification && b.merchant_id_at_acquirer.is_some() => {
                return self.wait_for_verification(b, acquirer).await;
            }
            _ => {}
        }
        let store =
            self.db.setup().store(store_id)?.ok_or_else(|| OnboardingError::UnknownStore(store_id.to_string()))?;
        let merchant = self
            .db
            .setup()
            .merchant_by_id(store.merchant_id)?
            .ok_or_else(|| OnboardingError::UnknownStore(store.store_code.clone()))?;
        let mut issues = validate_merchant(&merchant);
        issues.extend(validate_store(&store, &self.db.setup().stores()?));
        if !issues.is_empty() {
            return Err(OnboardingError::InvalidProfile(issues));
        }
        self.check_cancel()?;
        self.report(Step::Sending { store_code: store.store_code.clone(), acquirer: acquirer.onboarding_code.clone() });
        let blank = AcquirerBinding {
            id: BindingId(0),
            store_id,
            acquirer_id: acquirer.acquirer.id,
            status: BindingStatus::Failed,
            merchant_id_at_acquirer: None,
            cds_platform_id: None,
            cds_index: None,
            failure_reason: None,
            issuer_guid: None,
        };
        let state = match self.client.submit_merchant(&acquirer.onboarding_code, &merchant, &store).await {
            Ok(s) => s,
            Err(e) => {
                let reason = e.to_string();
                let failed = AcquirerBinding { failure_reason: Some(reason.clone()), ..blank };
                self.record(&failed, Step::Failed { reason: Some(reason) })?;
                return Err(e.into());
            }
        };
        let submitted = AcquirerBinding {
            status: state.status,
            merchant_id_at_acquirer: Some(state.merchant_id.clone()),
            failure_reason: state.reason.clone(),
            issuer_guid: Some(state.issuer_guid.clone()),
            ..blank
        };
        let saved = self.record(
            &submitted,
            Step::Submitted {
                acquirer: acquirer.onboarding_code.clone(),
                merchant_id: state.merchant_id.clone(),
                status: state.status,
            },
        )?;
        match state.status {
            BindingStatus::Active => Ok(saved),
            BindingStatus::Failed => Err(OnboardingError::VerificationFailed {
                acquirer: acquirer.onboarding_code.clone(),
                reason: state.reason.unwrap_or_default(),
            }),
            BindingStatus::PendingVerification => self.wait_for_verification(saved, acquirer).await,
        }
    }

    async fn wait_for_verification(
        &mut self,
        mut binding: AcquirerBinding,
        acquirer: &OnboardingAcquirer,
    ) -> Result<AcquirerBinding, OnboardingError> {
        let merchant_id = binding.merchant_id_at_acquirer.clone().unwrap_or_default();
        self.report(Step::Verifying { acquirer: acquirer.onboarding_code.clone(), merchant_id: merchant_id.clone() });
        let started = Instant::now();
        loop {
            sleep(&self.cancel, self.poll.interval).await?;
            match self.client.merchant_status(&acquirer.onboarding_code, &merchant_id).await {
                Ok(state) => {
                    binding = self.apply_status(binding, &state)?;
                    match binding.status {
                        BindingStatus::Active => return Ok(binding),
                        BindingStatus::Failed => {
                            return Err(OnboardingError::VerificationFailed {
                                acquirer: acquirer.onboarding_code.clone(),
                                reason: binding.failure_reason.clone().unwrap_or_default(),
                            });
                        }
                        BindingStatus::PendingVerification => {}
                    }
                }
                // A lost answer while waiting: keep asking until the time is up.
                Err(e @ (CdsError::Transport { .. } | CdsError::BadResponse { .. })) => {
                    tracing::warn!(error = %e, "onboarding status check failed; retrying");
                }
                Err(e) => return Err(e.into()),
            }
            if started.elapsed() >= self.poll.timeout {
                let waited_secs = started.elapsed().as_secs();
                self.note(binding.id, Step::StillPending { waited_secs })?;
                return Err(OnboardingError::StillPending {
                    acquirer: acquirer.onboarding_code.clone(),
                    merchant_id,
                    waited_secs,
                });
            }
        }
    }
}

/// The outbox kind of a CDS binding request that got no answer (delivered by the sync worker).
pub const CDS_BIND_OUTBOX: &str = "cds_bind";

/// Sleeps, waking early when cancelled.
async fn sleep(cancel: &CancelFlag, total: Duration) -> Result<(), OnboardingError> {
    {
        let deadline = Instant::now() + total;
        loop {
            if cancel.is_cancelled() {
                return Err(OnboardingError::Cancelled);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            tokio::time::sleep(left.min(Duration::from_millis(50))).await;
        }
    }
}
