//! What an onboarding flow did, as kinds with values: reported as it happens ([`super::Progress`]) and written to
//! the binding's timeline (the `detail` column holds the step as JSON). The UI phrases a [`Step`] in its language;
//! its `Display` is the English of the command line and the log. Rows written before (or by other code: the sync
//! worker) hold plain English and read back as [`Step::Note`].

use serde::{Deserialize, Serialize};

use crate::model::BindingStatus;

/// One step of onboarding, with what it concerns. Acquirers are named by their onboarding id (`ALIPAY`,
/// `PARTNER1`): the UI turns it into the acquirer's name in its language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Sending the store's profile to the acquirer.
    Sending { store_code: String, acquirer: String },
    /// The acquirer took the profile and assigned a merchant id.
    Submitted { acquirer: String, merchant_id: String, status: BindingStatus },
    /// The acquirer is verifying the merchant.
    Verifying { acquirer: String, merchant_id: String },
    /// Verified: the merchant is active.
    Verified { merchant_id: String },
    /// Being verified again (the acquirer moved it back to pending).
    VerifyingAgain,
    /// Refused, with the acquirer's own reason when it gave one (its words, passed on).
    Failed { reason: Option<String> },
    /// Already active with this acquirer: nothing to submit.
    AlreadyActive { acquirer: String },
    /// Still being verified after the wait.
    StillPending { waited_secs: u64 },
    /// The acquirer registers the merchant on the CDS platform.
    RegisteringCds { acquirer: String, merchant_id: String },
    /// Registered: the platform and the merchant CDS index.
    CdsRegistered { platform_id: String, cds_index: String },
    /// Already registered on the CDS platform before.
    AlreadyOnCds,
    /// The CDS platform refused (its code, e.g. `already_bound`, when it gave one).
    CdsRefused { code: Option<String> },
    /// The code was read: its CDS data.
    CodeRead { platform_id: String, cds_index: String },
    /// Asking the CDS platform about an index.
    LookingUp { cds_index: String },
    /// Asking the acquirer to bind its merchant to the index.
    Binding { acquirer: String, merchant_id: String, cds_index: String },
    /// No answer while binding: queued for the background sync.
    BindQueued { cds_index: String },
    /// Bound: every acquirer (onboarding id or name, as the platform lists them) the code now reaches.
    Bound { cds_index: String, reaches: Vec<String> },
    /// Done without CDS: the code carries the acquirer's reference data.
    Done { store_code: String, acquirer: String, issuer_guid: String, merchant_id: String },
    /// Plain words written by older versions or other code (shown as they are).
    Note(String),
}

impl Step {
    /// The short name of the step kept in the timeline's `step` column (`submitted`, `active`, `cds_bound`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Step::Sending { .. } => "submitting",
            Step::Submitted { .. } => "submitted",
            Step::Verifying { .. } | Step::VerifyingAgain => "pending_verification",
            Step::Verified { .. } | Step::AlreadyActive { .. } => "active",
            Step::Failed { .. } => "failed",
            Step::StillPending { .. } => "still_pending",
            Step::RegisteringCds { .. } => "registering_cds",
            Step::CdsRegistered { .. } | Step::AlreadyOnCds => "cds_registered",
            Step::CdsRefused { .. } => "cds_refused",
            Step::CodeRead { .. } => "code_read",
            Step::LookingUp { .. } => "looking_up",
            Step::Binding { .. } => "binding",
            Step::BindQueued { .. } => "cds_bind_queued",
            Step::Bound { .. } => "cds_bound",
            Step::Done { .. } => "done",
            Step::Note(_) => "note",
        }
    }

    /// What is written to the `detail` column: the step as JSON.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.to_string())
    }

    /// Reads a `detail` column back: the JSON this module writes, else the plain words as a [`Step::Note`].
    pub fn from_stored(detail: &str) -> Step {
        if detail.trim_start().starts_with('{')
            && let Ok(step) = serde_json::from_str::<Step>(detail)
        {
            return step;
        }
        Step::Note(detail.to_owned())
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Sending { store_code, acquirer } => write!(f, "sending store {store_code} to {acquirer}"),
            Step::Submitted { acquirer, merchant_id, status } => {
                write!(f, "{acquirer} assigned merchant id {merchant_id} ({status})")
            }
            Step::Verifying { acquirer, merchant_id } => write!(f, "{acquirer} is verifying merchant {merchant_id}"),
            Step::Verified { merchant_id } => write!(f, "verified: merchant {merchant_id} is active"),
            Step::VerifyingAgain => write!(f, "being verified again"),
            Step::Failed { reason: Some(r) } => write!(f, "verification failed: {r}"),
            Step::Failed { reason: None } => write!(f, "verification failed"),
            Step::AlreadyActive { acquirer } => write!(f, "already active with {acquirer}"),
            Step::StillPending { waited_secs } => write!(f, "still being verified after {waited_secs} s"),
            Step::RegisteringCds { acquirer, merchant_id } => {
                write!(f, "{acquirer} registers merchant {merchant_id} on the CDS platform")
            }
            Step::CdsRegistered { platform_id, cds_index } => {
                write!(f, "CDS platform {platform_id} · merchant CDS index {cds_index}")
            }
            Step::AlreadyOnCds => write!(f, "already registered on the CDS platform"),
            Step::CdsRefused { code: Some(c) } => write!(f, "the CDS platform refused ({c})"),
            Step::CdsRefused { code: None } => write!(f, "the CDS platform refused"),
            Step::CodeRead { platform_id, cds_index } => {
                write!(f, "CDS platform {platform_id} · merchant CDS index {cds_index}")
            }
            Step::LookingUp { cds_index } => write!(f, "asking the CDS platform about {cds_index}"),
            Step::Binding { acquirer, merchant_id, cds_index } => {
                write!(f, "{acquirer} binds merchant {merchant_id} to {cds_index}")
            }
            Step::BindQueued { cds_index } => {
                write!(f, "no answer from the CDS platform binding {cds_index}; queued for the background sync")
            }
            Step::Bound { cds_index, reaches } => {
                write!(f, "bound to merchant CDS index {cds_index}; the code now reaches {}", reaches.join(", "))
            }
            Step::Done { store_code, acquirer, issuer_guid, merchant_id } => write!(
                f,
                "store {store_code} is active with {acquirer}; its code now carries {issuer_guid} / {merchant_id}"
            ),
            Step::Note(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_reads_back_as_written_and_old_words_as_a_note() {
        let step = Step::Submitted {
            acquirer: "ALIPAY".into(),
            merchant_id: "ALIPAYM00000001".into(),
            status: BindingStatus::PendingVerification,
        };
        assert_eq!(Step::from_stored(&step.to_stored()), step);
        assert_eq!(step.name(), "submitted");
        assert_eq!(step.to_string(), "ALIPAY assigned merchant id ALIPAYM00000001 (pending_verification)");
        assert_eq!(Step::from_stored("merchant id X"), Step::Note("merchant id X".into()));
        assert_eq!(Step::from_stored("{not json"), Step::Note("{not json".into()));
    }
}
