//! The one error type of `mpm`: every message says which field or position, what was expected, and how to fix it.

use std::fmt;

/// Why a store code could not be built, read, drawn or scanned.
///
/// Positions are 1-based **character** positions in the text being read (EMVCo lengths count characters, so a
/// position in characters is what a person comparing the text by eye needs). For the Alipay+ format, positions
/// are in the decoded general payload (`GPLD…`), not in the Base64 text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MpmError {
    /// A field's value breaks a rule of the format (too long, wrong characters, missing, ...).
    #[error("{field} (tag {tag}){} {problem}", at(*.position))]
    InvalidField { field: &'static str, tag: String, position: Option<usize>, problem: FieldProblem },

    #[error("the code is empty: expected a payment code such as 000201… or HTTPS://…/MPM/3/…")]
    Empty,

    #[error("at character {position} expected {expected}, found {found:?}: the code is damaged or not a payment code")]
    BadTag { position: usize, found: String, expected: &'static str },

    #[error(
        "object {tag} at character {position} has length {found:?}; expected {digits} digits (1 or more): \
         the code is damaged"
    )]
    BadLength { position: usize, tag: String, found: String, digits: usize },

    #[error(
        "object {tag} at character {position} declares {declared} characters but only {available} remain: \
         the code is cut short"
    )]
    Truncated { position: usize, tag: String, declared: usize, available: usize },

    #[error("object {tag} at character {position} appears a second time; each ID may occur only once at its level")]
    Duplicate { position: usize, tag: String },

    #[error("object {tag} at character {position} is out of place: {rule}")]
    Misplaced { position: usize, tag: String, rule: &'static str },

    #[error("object {tag} at character {position} is reserved for future use by {owner} and must not appear in a code")]
    Reserved { position: usize, tag: String, owner: &'static str },

    #[error("the code does not end with a checksum (tag 63, 4 hex digits, last): it is cut short or not an EMVCo code")]
    MissingCrc,

    #[error(
        "the checksum (tag 63) says {found} but the content gives {computed}: the code was altered, damaged or \
         mistyped"
    )]
    CrcMismatch { found: String, computed: String },

    #[error("the payload is {chars} characters; a code allows at most {max} — shorten it by {}", .chars.saturating_sub(*.max))]
    PayloadTooLong { chars: usize, max: usize },

    #[error("a payment code needs at least one merchant account (tags 02–51); none was given")]
    NoMerchantAccount,

    #[error("merchant account tag {id} is outside 02–51")]
    AccountIdOutOfRange { id: u8 },

    #[error("unreserved template tag {id} is outside 80–99")]
    UnreservedIdOutOfRange { id: u8 },

    #[error("this is not an Alipay+ MPM code: {reason}")]
    NotAlipayPlus { reason: String },

    #[error("the general payload of the Alipay+ code is not valid Base64: {detail}")]
    Base64 { detail: String },

    #[error(
        "this code is neither an EMVCo payment code (starting 000201) nor an Alipay+ MPM code \
         (HTTPS://<domain>/MPM/3/…); it starts with {start:?}"
    )]
    UnknownFormat { start: String },

    #[error("a store code needs at least one acquirer reference or CDS data; neither was given")]
    NoRouting,

    #[error("{count} acquirer references were given; an EMVCo code has room for {max} (tags 26–50) — remove {}", .count.saturating_sub(*.max))]
    TooManyReferences { count: usize, max: usize },

    #[error(
        "an Alipay+ MPM code names only the acquirer that issues it, but {count} references were given: issue the \
         code with CDS data and bind the other acquirers on the CDS platform"
    )]
    AlipayPlusSingleIssuer { count: usize },

    #[error(
        "this store code carries no CDS data (CDS platform and merchant CDS index), so no other acquirer can be \
         bound to it: print a new store code with CDS data first"
    )]
    NoCdsData,

    #[error("the payload is {bytes} bytes, more than a QR code can hold at error correction {level}")]
    QrTooLong { bytes: usize, level: &'static str },

    #[error("the QR code could not be built: {detail}")]
    QrEncode { detail: String },

    #[error("the quiet zone is {modules} modules; a QR code needs at least 4 — add {}", 4u32.saturating_sub(*.modules))]
    QuietZoneTooSmall { modules: u32 },

    #[error("a module of {px} pixels is not usable; choose 1 to {max} pixels")]
    ModuleSize { px: u32, max: u32 },

    #[error("the file is not a readable PNG or JPEG image: {detail}")]
    Image { detail: String },

    #[error("no QR code was found in the image: take the picture closer, straight on and in focus")]
    NoQrCode,

    #[error("the image shows {count} QR codes; crop it so that only the store code is visible")]
    SeveralQrCodes { count: usize },

    #[error("a QR code was found but could not be read ({detail}): it may be damaged, blurred or partly covered")]
    UnreadableQr { detail: String },
}

/// What is wrong with one field; shown after "merchant name (tag 59)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    Missing,
    Empty,
    TooLong {
        chars: usize,
        max: usize,
    },
    WrongLength {
        chars: usize,
        expected: usize,
    },
    NotDigits {
        found: char,
        index: usize,
    },
    /// A character outside the EMV common character set (printable ASCII).
    NotAns {
        found: char,
        index: usize,
        hint: &'static str,
    },
    ControlCharacter {
        index: usize,
    },
    Invalid {
        value: String,
        expected: &'static str,
    },
    /// Missing although another field needs it (e.g. tag 56 when tag 55 is "02").
    RequiredBy {
        by: &'static str,
    },
    Duplicate,
    Reserved,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldProblem::Missing => f.write_str("is missing; every code must carry it"),
            FieldProblem::Empty => f.write_str("is empty; it needs at least 1 character"),
            FieldProblem::TooLong { chars, max } => {
                write!(f, "is {chars} characters; the code allows {max} — shorten it by {}", chars.saturating_sub(*max))
            }
            FieldProblem::WrongLength { chars, expected } => {
                write!(f, "is {chars} characters; it must be exactly {expected}")
            }
            FieldProblem::NotDigits { found, index } => {
                write!(f, "must be digits only; found {found:?} at character {index}")
            }
            FieldProblem::NotAns { found, index, hint } => write!(
                f,
                "may only use Latin letters, digits, space and ASCII punctuation; found {found:?} at character \
                 {index}{hint}"
            ),
            FieldProblem::ControlCharacter { index } => {
                write!(f, "contains a control character at character {index}; remove it")
            }
            FieldProblem::Invalid { value, expected } => write!(f, "is {value:?}; expected {expected}"),
            FieldProblem::RequiredBy { by } => write!(f, "is missing; {by} requires it"),
            FieldProblem::Duplicate => f.write_str("appears more than once; each ID may occur only once at its level"),
            FieldProblem::Reserved => f.write_str("is reserved for future use and must not appear in a code"),
        }
    }
}

fn at(position: Option<usize>) -> String {
    position.map(|p| format!(" at character {p}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_long_says_by_how_much() {
        let e = MpmError::InvalidField {
            field: "merchant name",
            tag: "59".into(),
            position: None,
            problem: FieldProblem::TooLong { chars: 31, max: 25 },
        };
        assert_eq!(e.to_string(), "merchant name (tag 59) is 31 characters; the code allows 25 — shorten it by 6");
    }

    #[test]
    fn positions_are_shown_when_known() {
        let e = MpmError::InvalidField {
            field: "merchant category code",
            tag: "52".into(),
            position: Some(40),
            problem: FieldProblem::NotDigits { found: 'X', index: 2 },
        };
        assert_eq!(
            e.to_string(),
            "merchant category code (tag 52) at character 40 must be digits only; found 'X' at character 2"
        );
    }
}
