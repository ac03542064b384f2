//! Whether a printed code stays readable by a phone, and the error correction that keeps it so.
//!
//! # The rule
//! A phone reads a module when the module is large enough *at the distance the stand is scanned from*, so every
//! template has a minimum printed module size ([`min_module_mm`]):
//!
//! ```text
//! minimum = max(0.396 mm, viewing distance × 1.2 mrad)
//! ```
//!
//! - **0.396 mm** is the smallest X-dimension (module side) the GS1 General Specifications allow for QR codes
//!   scanned at retail point of sale, i.e. at hand distance (GS1 General Specifications §5.12.3.1, symbol
//!   specification table 1 and its addenda for QR codes: X from 0.396 to 0.990 mm; summarised by GS1 UK, "How big
//!   should a QR code powered by GS1 be?"). Below it, printing (dot gain, toner spread, paper) eats the modules
//!   whatever the distance.
//! - **1.2 mrad per module** is two camera pixels per module for a phone's scanner. This is our model, not a
//!   published figure: a scanning app analyses a 1080p preview (1920 pixels wide) of a main camera about 65° wide,
//!   so one pixel spans about 0.59 mrad, and two pixels a module is the sampling limit a reader resolves. It agrees
//!   with hand measurements (phones read modules of 0.25–0.42 mm from a laser printout at hand distance, and 1–3
//!   screen pixels from a screen: scruss.com, "Too many QR Codes", 2013), and it is what makes the poster work: the
//!   "10:1" rule below would ask 3 mm modules at 1 m, which no store code with its acquirer references fits in
//!   132 mm.
//! - **Viewing distances** ([`viewing_distance_mm`]): a 60 mm sticker on a table or counter is scanned from
//!   15–25 cm (we take 25 cm), a table tent from about 30 cm, an A4 poster on a door or wall from 1 m.
//!
//! That gives 0.396 mm for the sticker and the tent (the print floor; 1.2 mrad asks only 0.30 and 0.36 mm) and
//! 1.20 mm for the poster. For scale: the industry's "10:1" rule (a code at least a tenth of the scanning distance
//! wide) assumes codes of 25–33 modules and so asks for about distance/330 per module; our codes are denser
//! (version 10–20), which is why the rule here is on the module, not on the code.
//!
//! # Error correction
//! - **With a logo**: the highest level, H then Q, whose symbol keeps modules at or above the minimum *and* whose
//!   recovery capacity is at least [`LOGO_MARGIN`] (2) times what the logo covers. The logo covers its box
//!   ([`super::layout::LOGO_SIDE_FRACTION`] of the symbol's side) plus its white backing (a module each side): at
//!   most 9.9 % of the symbol (version 1), about 6 % for the versions store codes use; H restores about 30 % and Q
//!   about 25 % of the codewords, so the margin is 2.5–5×, never below 2×. The factor 2 covers the codewords the
//!   box's edges cut in part, and leaves the other half of the capacity for stains, glare and wear. If neither H
//!   nor Q fits, the logo is refused for that template ([`ReadabilityError::LogoTooDense`]). M is never chosen with
//!   a logo: it would leave no room for anything else going wrong.
//! - **Without a logo**: M (about 15 %), the usual level for printed stands; L (about 7 %) only if M's symbol would
//!   have modules below the minimum and L's does not. If even L does not fit, the template is refused for that
//!   store ([`ReadabilityError::TooDense`]) rather than printed unreadable.
//!
//! Store codes bound to one acquirer are about 190–210 bytes (version 10 at M, 15 at H); bound to three acquirers
//! and a CDS index, about 360 bytes (version 14 at M, 20 at H). On the 39 mm sticker the latter takes a logo only at
//! Q (0.42 mm) — H would give 0.37 mm; the 132 mm poster takes any of them at H (1.26 mm at version 20).

use super::layout::{self, LOGO_SIDE_FRACTION};
use super::{PrintError, StandData, Template};
use crate::mpm::{ErrorCorrection, MpmError, QrMatrix, qr_matrix, qr_symbol_width};

/// The smallest module GS1 allows for QR codes read at hand distance (GS1 General Specifications §5.12.3.1).
pub const PRINT_FLOOR_MM: f32 = 0.396;
/// The angle one module must span for a phone's scanner to resolve it: two pixels of a 1920-pixel preview over
/// about 65° (0.59 mrad a pixel).
pub const PHONE_MRAD_PER_MODULE: f32 = 1.2;
/// The angle one pixel of that preview spans, in milliradians: what a phone "sees" of a print
/// ([`phone_dpi`]).
pub const PHONE_MRAD_PER_PIXEL: f32 = 0.59;
/// The logo may cover at most this fraction of what the error correction level restores.
pub const LOGO_MARGIN: f32 = 2.0;

/// How far from the stand a customer holds the phone, in millimetres.
pub fn viewing_distance_mm(template: Template) -> f32 {
    match template {
        Template::Sticker => 250.0,
        Template::Tent => 300.0,
        Template::Poster => 1000.0,
    }
}

/// The smallest printed module a phone reads on `template` at its viewing distance, in millimetres.
pub fn min_module_mm(template: Template) -> f32 {
    PRINT_FLOOR_MM.max(viewing_distance_mm(template) * PHONE_MRAD_PER_MODULE / 1000.0)
}

/// The resolution at which a phone's scanner sees `template` at its viewing distance (one camera pixel per
/// [`PHONE_MRAD_PER_PIXEL`]), in dots per inch: about 172 dpi for the sticker, 143 for the tent, 43 for the poster.
pub fn phone_dpi(template: Template) -> f32 {
    25.4 / (viewing_distance_mm(template) * PHONE_MRAD_PER_PIXEL / 1000.0)
}

/// The share of the codewords each level restores (ISO/IEC 18004, approximately).
pub fn recovery_capacity(ec: ErrorCorrection) -> f32 {
    match ec {
        ErrorCorrection::Low => 0.07,
        ErrorCorrection::Medium => 0.15,
        ErrorCorrection::Quartile => 0.25,
        ErrorCorrection::High => 0.30,
    }
}

/// The share of a symbol `width` modules wide that the logo box and its white backing (a module each side) cover.
pub fn logo_coverage(width: usize) -> f32 {
    let n = width as f32;
    let backed = n * LOGO_SIDE_FRACTION + 2.0;
    (backed / n).powi(2)
}

/// The level's letter and capacity, as "H (30 %)".
pub fn level_label(ec: ErrorCorrection) -> &'static str {
    match ec {
        ErrorCorrection::Low => "L (7 %)",
        ErrorCorrection::Medium => "M (15 %)",
        ErrorCorrection::Quartile => "Q (25 %)",
        ErrorCorrection::High => "H (30 %)",
    }
}

/// A length in millimetres for messages: three decimals at most, no trailing zeros ("0.386", "1.2"). Rounded down,
/// so that a module just under the minimum never shows as equal to it.
pub fn mm(value: f32) -> String {
    let thousandths = (value * 1000.0 + 1e-3).floor() / 1000.0;
    let text = format!("{thousandths:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Why a code cannot be printed readably on a template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadabilityError {
    #[error(
        "a logo does not fit on the {}: with it the code's modules would be {} mm, below the {} mm a phone reads \
         from {} cm. Print without --logo, or choose a bigger template",
        template.label_en(),
        mm(*module_mm),
        mm(*minimum_mm),
        viewing_distance_mm(*template) / 10.0
    )]
    LogoTooDense { template: Template, module_mm: f32, minimum_mm: f32 },
    #[error(
        "the code is too long for the {}: its modules would be {} mm, below the {} mm a phone reads from {} cm. \
         Choose a bigger template, or bind the store to fewer acquirers",
        template.label_en(),
        mm(*module_mm),
        mm(*minimum_mm),
        viewing_distance_mm(*template) / 10.0
    )]
    TooDense { template: Template, module_mm: f32, minimum_mm: f32 },
    #[error(transparent)]
    Qr(MpmError),
}

/// The code as it will be printed on a template: its symbol, level and module size.
#[derive(Debug, Clone, PartialEq)]
pub struct CodePlan {
    pub template: Template,
    pub ec: ErrorCorrection,
    pub matrix: QrMatrix,
    /// The printed module side, in millimetres.
    pub module_mm: f32,
    /// The minimum for the template ([`min_module_mm`]).
    pub minimum_mm: f32,
}

/// The symbol's width at `ec` (modules per side), or `None` if the payload does not fit any version at that level.
/// Only the width: the symbol itself is made once, for the level chosen.
fn symbol(payload: &str, ec: ErrorCorrection) -> Result<Option<usize>, ReadabilityError> {
    match qr_symbol_width(payload, ec) {
        Ok(w) => Ok(Some(w)),
        Err(MpmError::QrTooLong { .. }) => Ok(None),
        Err(e) => Err(ReadabilityError::Qr(e)),
    }
}

/// Chooses the error correction for `payload` on `template` by the rule above, or says why it cannot be printed
/// readably.
pub fn plan(payload: &str, template: Template, has_logo: bool) -> Result<CodePlan, ReadabilityError> {
    let minimum_mm = min_module_mm(template);
    // The level is chosen on the symbols' widths; the symbol itself is made once, for the chosen level.
    let build = |ec, module_mm| -> Result<CodePlan, ReadabilityError> {
        let matrix = qr_matrix(payload, ec).map_err(ReadabilityError::Qr)?;
        Ok(CodePlan { template, ec, matrix, module_mm, minimum_mm })
    };
    // Without a logo: M, else L; else the template cannot carry this code at all.
    let mut plain = None;
    for ec in [ErrorCorrection::Medium, ErrorCorrection::Low] {
        if let Some(width) = symbol(payload, ec)? {
            let module_mm = layout::module_mm(template, width);
            if module_mm >= minimum_mm {
                plain = Some((ec, module_mm));
                break;
            }
            if ec == ErrorCorrection::Low {
                return Err(ReadabilityError::TooDense { template, module_mm, minimum_mm });
            }
        } else if ec == ErrorCorrection::Low {
            return Err(ReadabilityError::Qr(MpmError::QrTooLong { bytes: payload.len(), level: "L" }));
        }
    }
    let Some((plain_ec, plain_mm)) = plain else {
        return Err(ReadabilityError::Qr(MpmError::QrTooLong { bytes: payload.len(), level: "L" }));
    };
    if !has_logo {
        return build(plain_ec, plain_mm);
    }
    // With a logo: H, else Q, each only if its modules are big enough and it restores twice what the logo covers.
    let mut best_module = None;
    for ec in [ErrorCorrection::High, ErrorCorrection::Quartile] {
        let Some(width) = symbol(payload, ec)? else { continue };
        let module_mm = layout::module_mm(template, width);
        let restores = recovery_capacity(ec) >= LOGO_MARGIN * logo_coverage(width);
        if module_mm >= minimum_mm && restores {
            return build(ec, module_mm);
        }
        best_module = Some(module_mm);
    }
    Err(ReadabilityError::LogoTooDense { template, module_mm: best_module.unwrap_or(0.0), minimum_mm })
}

/// The plan for a stand, its errors naming the store.
pub fn plan_for(stand: &StandData, template: Template, has_logo: bool) -> Result<CodePlan, PrintError> {
    plan(&stand.payload, template, has_logo).map_err(|problem| match problem {
        ReadabilityError::Qr(source) => PrintError::Qr { store_code: stand.store_code.clone(), source },
        problem => PrintError::Unreadable { store_code: stand.store_code.clone(), problem },
    })
}

/// Every stand on every template, checked before anything is rendered or written: the refusals, in order (empty
/// when everything can be printed readably).
pub fn refusals(stands: &[StandData], templates: &[Template], has_logo: bool) -> Vec<PrintError> {
    let mut refused = Vec::new();
    for stand in stands {
        for &template in templates {
            if let Err(e) = plan_for(stand, template, has_logo) {
                refused.push(e);
            }
        }
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpm::{AcquirerReference, CdsData, CodeFormat, StoreCodeInput, build_store_code};

    fn input() -> StoreCodeInput {
        let mut input = StoreCodeInput::example_for_tests("LUCKY NOODLES JINGAN SHOP", "幸运面馆静安寺久光百货店");
        input.store_label = "S0777".into();
        input
    }

    fn references() -> [AcquirerReference; 3] {
        [
            AcquirerReference { guid: "com.alipay.sandbox".into(), merchant_id: "2088102146225135".into() },
            AcquirerReference { guid: "com.tenpay.sandbox".into(), merchant_id: "1900000109".into() },
            AcquirerReference {
                guid: "com.alipayplus.acquirer.example".into(),
                merchant_id: "21880000000777000123".into(),
            },
        ]
    }

    /// One acquirer: about 210 bytes.
    fn short() -> String {
        build_store_code(CodeFormat::Emvco, &input(), &references()[..1], None).unwrap()
    }

    /// Three acquirers and a CDS index: about 360 bytes.
    fn long() -> String {
        let cds = CdsData { platform_id: "com.example.cds".into(), cds_index: "IDX0001234567890".into() };
        build_store_code(CodeFormat::Emvco, &input(), &references(), Some(&cds)).unwrap()
    }

    #[test]
    fn the_minimums_follow_the_viewing_distance_with_the_gs1_floor() {
        assert_eq!(min_module_mm(Template::Sticker), 0.396);
        assert_eq!(min_module_mm(Template::Tent), 0.396);
        assert!((min_module_mm(Template::Poster) - 1.2).abs() < 1e-6);
        assert!((phone_dpi(Template::Sticker) - 172.2).abs() < 0.5, "{}", phone_dpi(Template::Sticker));
        assert!((phone_dpi(Template::Poster) - 43.05).abs() < 0.5, "{}", phone_dpi(Template::Poster));
    }

    #[test]
    fn the_logo_covers_well_under_half_of_what_h_or_q_restore() {
        for version in 1..=40usize {
            let width = version * 4 + 17;
            let covered = logo_coverage(width);
            assert!(covered < 0.10, "version {version}: {covered}");
            assert!(recovery_capacity(ErrorCorrection::Quartile) >= LOGO_MARGIN * covered, "version {version}");
            assert!(recovery_capacity(ErrorCorrection::High) >= LOGO_MARGIN * covered, "version {version}");
        }
        // M would leave less than 2× at small versions.
        assert!(recovery_capacity(ErrorCorrection::Medium) < LOGO_MARGIN * logo_coverage(21));
    }

    #[test]
    fn a_short_payload_with_a_logo_is_printed_at_h_everywhere() {
        let payload = short();
        assert!(payload.len() < 230, "{}", payload.len());
        for template in Template::ALL {
            let p = plan(&payload, template, true).unwrap();
            assert_eq!(p.ec, ErrorCorrection::High, "{template:?}");
            assert!(p.module_mm >= p.minimum_mm, "{template:?}: {} mm", p.module_mm);
            let plain = plan(&payload, template, false).unwrap();
            assert_eq!(plain.ec, ErrorCorrection::Medium, "{template:?}");
        }
        // On the sticker: version 15 at H, 39 mm / 85 modules.
        let p = plan(&payload, Template::Sticker, true).unwrap();
        assert_eq!(p.matrix.version(), 15);
        assert!((p.module_mm - 39.0 / 85.0).abs() < 1e-4, "{}", p.module_mm);
    }

    #[test]
    fn a_long_payload_with_a_logo_on_a_sticker_drops_to_q() {
        let payload = long();
        assert!(payload.len() > 340, "{}", payload.len());
        // H would be version 20: 39 / 105 = 0.371 mm, under 0.396.
        let h = qr_matrix(&payload, ErrorCorrection::High).unwrap();
        assert!(layout::module_mm(Template::Sticker, h.width()) < min_module_mm(Template::Sticker));
        let p = plan(&payload, Template::Sticker, true).unwrap();
        assert_eq!(p.ec, ErrorCorrection::Quartile);
        assert!(p.module_mm >= 0.396 && p.module_mm < 0.43, "{}", p.module_mm);
        // Without the logo: M.
        assert_eq!(plan(&payload, Template::Sticker, false).unwrap().ec, ErrorCorrection::Medium);
    }

    #[test]
    fn a_longer_payload_refuses_the_logo_on_a_sticker_naming_the_sizes() {
        // Four acquirers and a CDS index: Q is version 19 (0.386 mm), under the 0.396 mm minimum; M still fits.
        let mut refs = references().to_vec();
        refs.push(AcquirerReference { guid: "com.example.fourth.acquirer".into(), merchant_id: "9".repeat(20) });
        let cds = CdsData { platform_id: "com.example.cds".into(), cds_index: "IDX0001234567890".into() };
        let payload = build_store_code(CodeFormat::Emvco, &input(), &refs, Some(&cds)).unwrap();
        let err = plan(&payload, Template::Sticker, true).unwrap_err();
        let ReadabilityError::LogoTooDense { template, module_mm, minimum_mm } = err.clone() else { panic!("{err:?}") };
        assert_eq!(template, Template::Sticker);
        assert_eq!(minimum_mm, 0.396);
        assert!(module_mm < minimum_mm && module_mm > 0.3, "{module_mm}");
        let text = err.to_string();
        assert!(text.starts_with("a logo does not fit on the 60×60 mm sticker"), "{text}");
        assert!(text.contains(&format!("{} mm, below the 0.396 mm a phone reads from 25 cm", mm(module_mm))), "{text}");
        assert_eq!((mm(0.38613), mm(1.2), mm(0.3959)), ("0.386".into(), "1.2".into(), "0.395".into()));
        // Without the logo it prints, at M; the tent and the poster take the logo.
        assert_eq!(plan(&payload, Template::Sticker, false).unwrap().ec, ErrorCorrection::Medium);
        assert!(plan(&payload, Template::Tent, true).is_ok());
        assert!(plan(&payload, Template::Poster, true).is_ok());
    }

    #[test]
    fn the_poster_takes_every_store_code_with_a_logo_at_h() {
        for payload in [short(), long()] {
            let p = plan(&payload, Template::Poster, true).unwrap();
            assert_eq!(p.ec, ErrorCorrection::High);
            assert!(p.module_mm >= 1.2, "{}", p.module_mm);
        }
    }

    #[test]
    fn a_payload_too_long_for_a_template_refuses_the_template_and_falls_back_to_l_first() {
        // 600 bytes: M is version 19 (0.36 mm on the sticker), L version 17 (0.42 mm): L.
        let mid = "A".repeat(600);
        let p = plan(&mid, Template::Sticker, false).unwrap();
        assert_eq!((p.ec, p.matrix.version()), (ErrorCorrection::Low, 17), "{} mm", p.module_mm);
        assert_eq!(plan(&mid, Template::Tent, false).unwrap().ec, ErrorCorrection::Medium);
        // 900 bytes: even L is too dense for the sticker, not for the poster.
        let huge = "A".repeat(900);
        let err = plan(&huge, Template::Sticker, false).unwrap_err();
        assert!(matches!(err, ReadabilityError::TooDense { template: Template::Sticker, .. }), "{err}");
        assert!(err.to_string().starts_with("the code is too long for the 60×60 mm sticker"), "{err}");
        assert!(plan(&huge, Template::Poster, false).is_ok());
        // Past QR's capacity: the QR error, as before.
        assert!(matches!(plan(&"A".repeat(3000), Template::Poster, false), Err(ReadabilityError::Qr(_))));
        // 900 bytes with a logo on the sticker: the template itself is refused, not just the logo.
        assert!(matches!(plan(&huge, Template::Sticker, true), Err(ReadabilityError::TooDense { .. })));
    }

    #[test]
    fn refusals_name_the_store_and_template() {
        let stand = |code: &str, payload: String| StandData {
            store_code: code.into(),
            name_zh: String::new(),
            name_latin: String::new(),
            payload,
            badges: vec![],
        };
        let stands = [stand("S001", short()), stand("S002", "A".repeat(900))];
        let refused = refusals(&stands, &[Template::Sticker, Template::Poster], false);
        assert_eq!(refused.len(), 1, "{refused:?}");
        let text = refused[0].to_string();
        assert!(text.starts_with("store S002: the code is too long for the 60×60 mm sticker"), "{text}");
    }
}
