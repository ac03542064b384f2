//! A store's code from its bindings, and the code checker (what a wallet would do with any code).
//!
//! **The routing policy lives here, in [`routing_for`]** (docs/CODES.md explains it):
//! - once the store has a merchant CDS index, its code carries **only the CDS data**: every acquirer bound to the
//!   index on the CDS platform is reachable, and no acquirer's own reference takes precedence in a wallet;
//! - without CDS, the code carries the reference data (issuer id + merchant id) of each **active** binding;
//! - the format: `auto` prints Alipay+ MPM once a CDS index exists, else EMVCo (which can name several acquirers).

use std::path::Path;

use super::OnboardingError;
use crate::channel::cds::{CdsClient, CdsError, IndexListing};
use crate::model::{AcquirerBinding, BindingStatus, CodeFormatChoice, StoreId};
use crate::mpm::{
    AcquirerReference, CdsData, CodeFormat, DecodedStoreCode, StoreCodeInput, build_store_code, decode_image,
    decode_store_code, store_code::SANDBOX_CODE_DOMAIN,
};
use crate::store::Store;

/// Setting: the domain Alipay+ codes are issued under (the code issuer's). Default: the sandbox's.
pub const SETTING_CODE_DOMAIN: &str = "codes.alipayplus_domain";

/// Whether a code with CDS data also carries the code issuer's reference data (`CIRD` / a 26–50 template).
/// `false`: the wallet resolves every payment through the CDS platform, so all bound acquirers are reachable.
pub const CDS_CODE_CARRIES_ISSUER_REFERENCE: bool = false;

/// A store's code, ready to show and print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltCode {
    pub format: CodeFormat,
    pub payload: String,
    pub cds: Option<CdsData>,
    pub references: Vec<AcquirerReference>,
}

/// What goes into the code for these bindings: (references, CDS data). See the module documentation.
pub fn routing_for(bindings: &[AcquirerBinding]) -> (Vec<AcquirerReference>, Option<CdsData>) {
    let references: Vec<AcquirerReference> = bindings
        .iter()
        .filter(|b| b.status == BindingStatus::Active)
        .filter_map(|b| {
            Some(AcquirerReference { guid: b.issuer_guid.clone()?, merchant_id: b.merchant_id_at_acquirer.clone()? })
        })
        .collect();
    let cds = bindings
        .iter()
        .find_map(|b| Some(CdsData { platform_id: b.cds_platform_id.clone()?, cds_index: b.cds_index.clone()? }));
    match cds {
        Some(cds) if CDS_CODE_CARRIES_ISSUER_REFERENCE => (references.into_iter().take(1).collect(), Some(cds)),
        Some(cds) => (Vec::new(), Some(cds)),
        None => (references, None),
    }
}

/// The format a choice resolves to.
pub fn resolve_format(choice: CodeFormatChoice, has_cds: bool) -> CodeFormat {
    match choice {
        CodeFormatChoice::AlipayPlus => CodeFormat::AlipayPlusMpm,
        CodeFormatChoice::Emvco => CodeFormat::Emvco,
        CodeFormatChoice::Auto if has_cds => CodeFormat::AlipayPlusMpm,
        CodeFormatChoice::Auto => CodeFormat::Emvco,
    }
}

/// Builds a store's code from what is stored: the merchant, the store, its bindings and its format choice (or
/// `format`, when given, without saving it).
pub fn build_for_store(
    db: &Store,
    store_id: StoreId,
    format: Option<CodeFormatChoice>,
) -> Result<BuiltCode, OnboardingError> {
    let store = db.setup().store(store_id)?.ok_or_else(|| OnboardingError::UnknownStore(store_id.to_string()))?;
    let merchant = db
        .setup()
        .merchant_by_id(store.merchant_id)?
        .ok_or_else(|| OnboardingError::UnknownStore(store.store_code.clone()))?;
    let bindings = db.setup().bindings_for_store(store_id)?;
    let (references, cds) = routing_for(&bindings);
    if references.is_empty() && cds.is_none() {
        return Err(OnboardingError::NotOnboarded { store_code: store.store_code.clone() });
    }
    let choice = match format {
        Some(f) => f,
        None => db.setup().store_code_format(store_id)?,
    };
    let format = resolve_format(choice, cds.is_some());
    let mut input = StoreCodeInput::for_store(&merchant, &store);
    input.code_domain = db.setting(SETTING_CODE_DOMAIN)?.unwrap_or_else(|| SANDBOX_CODE_DOMAIN.to_owned());
    let payload = build_store_code(format, &input, &references, cds.as_ref())?;
    Ok(BuiltCode { format, payload, cds, references })
}

/// Reads a code from a file: a PNG or JPEG picture of the QR code, or a text file holding the payload.
pub fn read_code_file(path: &Path) -> Result<String, OnboardingError> {
    let bytes = std::fs::read(path)
        .map_err(|e| OnboardingError::File { path: path.display().to_string(), detail: e.to_string() })?;
    let is_image = bytes.starts_with(b"\x89PNG") || bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    if is_image {
        return decode_image(&bytes)
            .map_err(|e| OnboardingError::File { path: path.display().to_string(), detail: e.to_string() });
    }
    match String::from_utf8(bytes) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        _ => Err(OnboardingError::File {
            path: path.display().to_string(),
            detail: "expected a PNG or JPEG picture of the code, or a text file holding its payload".into(),
        }),
    }
}

/// What a wallet would do with a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeCheck {
    pub decoded: DecodedStoreCode,
    /// The live lookup of the code's CDS index, when it has one and a platform was asked.
    pub listing: Option<Result<IndexListing, CdsError>>,
}

impl CodeCheck {
    /// In plain words: where the payment goes.
    pub fn wallet_summary(&self) -> Vec<String> {
        self.wallet_lines().iter().map(ToString::to_string).collect()
    }

    /// What a wallet would do with the code, line by line, as kinds with values (the UI phrases them).
    pub fn wallet_lines(&self) -> Vec<WalletLine> {
        let mut lines = Vec::new();
        for r in &self.decoded.references {
            lines.push(WalletLine::Reference { guid: r.guid.clone(), merchant_id: r.merchant_id.clone() });
        }
        if let Some(cds) = &self.decoded.cds {
            lines.push(WalletLine::Cds { platform_id: cds.platform_id.clone(), cds_index: cds.cds_index.clone() });
            match &self.listing {
                Some(Ok(l)) if l.acquirers.is_empty() => lines.push(WalletLine::NoAcquirerBound),
                Some(Ok(l)) => {
                    for a in &l.acquirers {
                        lines.push(WalletLine::Reaches {
                            name: a.name.clone(),
                            acquirer_code: a.acquirer_code.clone(),
                            protocol: a.protocol.clone(),
                            merchant_id: a.merchant_id.clone(),
                        });
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "CDS lookup failed");
                    lines.push(WalletLine::LookupFailed(e.to_string()))
                }
                None => lines.push(WalletLine::NotLookedUp),
            }
        }
        if lines.is_empty() {
            lines.push(WalletLine::Nothing);
        }
        lines
    }
}

/// Decodes any code and, when it has CDS data and a platform is given, looks the index up live.
pub async fn check_code(text: &str, platform: Option<&CdsClient>) -> Result<CodeCheck, OnboardingError> {
    let decoded = decode_store_code(text)?;
    let listing = match (&decoded.cds, platform) {
        (Some(cds), Some(client)) => Some(client.lookup_index(&cds.cds_index).await),
        _ => None,
    };
    Ok(CodeCheck { decoded, listing })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AcquirerId, BindingId};

    fn binding(id: i64, status: BindingStatus, cds: bool) -> AcquirerBinding {
        AcquirerBinding {
            id: BindingId(id),
            store_id: StoreId(1),
            acquirer_id: AcquirerId(id),
            status,
            merchant_id_at_acquirer: Some(format!("M{id}")),
            cds_platform_id: cds.then(|| "SANDBOXCDS".into()),
            cds_index: cds.then(|| "IDX1".into()),
            failure_reason: None,
            issuer_guid: Some(format!("com.acq{id}")),
        }
    }

    #[test]
    fn cds_wins_and_only_active_bindings_are_referenced() {
        let direct = [binding(1, BindingStatus::Active, false), binding(2, BindingStatus::PendingVerification, false)];
        let (refs, cds) = routing_for(&direct);
        assert_eq!(refs, vec![AcquirerReference { guid: "com.acq1".into(), merchant_id: "M1".into() }]);
        assert_eq!(cds, None);
        let with_cds = [binding(1, BindingStatus::Active, true), binding(2, BindingStatus::Active, false)];
        let (refs, cds) = routing_for(&with_cds);
        assert!(refs.is_empty());
        assert_eq!(cds.unwrap().cds_index, "IDX1");
        assert_eq!(resolve_format(CodeFormatChoice::Auto, true), CodeFormat::AlipayPlusMpm);
        assert_eq!(resolve_format(CodeFormatChoice::Auto, false), CodeFormat::Emvco);
        assert_eq!(resolve_format(CodeFormatChoice::Emvco, true), CodeFormat::Emvco);
    }

    #[test]
    fn code_files_name_the_file_when_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.txt");
        std::fs::write(&path, "").unwrap();
        let err = read_code_file(&path).unwrap_err().to_string();
        assert!(err.contains("empty.txt") && err.contains("PNG or JPEG"), "{err}");
        let missing = read_code_file(&dir.path().join("nope.png")).unwrap_err().to_string();
        assert!(missing.contains("nope.png"), "{missing}");
        let broken = dir.path().join("broken.png");
        std::fs::write(&broken, b"\x89PNG not really").unwrap();
        assert!(read_code_file(&broken).unwrap_err().to_string().contains("broken.png"));
    }
}

/// One line of what a wallet would do with a code ([`CodeCheck::wallet_lines`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletLine {
    /// Reference data: a wallet that knows acquirer `guid` pays its merchant.
    Reference {
        guid: String,
        merchant_id: String,
    },
    /// The code's CDS data.
    Cds {
        platform_id: String,
        cds_index: String,
    },
    /// The platform knows the index, but no acquirer is bound to it.
    NoAcquirerBound,
    /// The code reaches this acquirer (its onboarding id, its name as the platform gives it, its protocol).
    Reaches {
        name: String,
        acquirer_code: String,
        protocol: String,
        merchant_id: String,
    },
    /// The CDS lookup failed (the English detail, for the log).
    LookupFailed(String),
    NotLookedUp,
    /// No acquirer TillDesk can read and no CDS data.
    Nothing,
}

impl std::fmt::Display for WalletLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalletLine::Reference { guid, merchant_id } => {
                write!(f, "reference data: a wallet that knows acquirer {guid} pays its merchant {merchant_id}")
            }
            WalletLine::Cds { platform_id, cds_index } => {
                write!(f, "CDS data: platform {platform_id} · merchant CDS index {cds_index}")
            }
            WalletLine::NoAcquirerBound => {
                f.write_str("the CDS platform knows the index but no acquirer is bound to it")
            }
            WalletLine::Reaches { name, acquirer_code, protocol, merchant_id } => {
                write!(f, "reaches {name} ({acquirer_code}, {protocol} wallets) as merchant {merchant_id}")
            }
            WalletLine::LookupFailed(e) => write!(f, "CDS lookup failed: {e}"),
            WalletLine::NotLookedUp => f.write_str("not looked up on the CDS platform"),
            WalletLine::Nothing => f.write_str("the code names no acquirer TillDesk can read and has no CDS data"),
        }
    }
}
