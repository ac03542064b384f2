//! QR symbols for store codes: byte mode only (EMVCo §4.12.1 forbids the other modes), with the ECI designator
//! 000026 (UTF-8) whenever the payload has a character outside printable ASCII; PNG output; reading a code back
//! from a PNG or JPEG photo or scan.
//!
//! qrcode 0.14 builds the bit stream by hand here (`Bits`), because its automatic encoder would switch to numeric
//! and alphanumeric segments. It supports ECI (`push_eci_designator`), so there is no known limitation on that
//! front. rqrr skips the ECI header when reading and returns the bytes as UTF-8.

use std::io::Cursor;

use image::{GrayImage, ImageFormat, Luma};
use qrcode::bits::Bits;
use qrcode::types::QrError;
use qrcode::{Color, EcLevel, QrCode, Version};

use super::error::MpmError;

/// Largest module size [`render_png`] accepts, in pixels.
pub const MAX_MODULE_PX: u32 = 50;
/// The quiet zone a QR code needs around it, in modules (ISO/IEC 18004).
pub const MIN_QUIET_ZONE: u32 = 4;
/// ECI designator for UTF-8.
const ECI_UTF8: u32 = 26;

/// How much of the symbol may be damaged and still read: about 7 %, 15 %, 25 %, 30 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorCorrection {
    Low,
    /// The usual choice for printed stands.
    #[default]
    Medium,
    Quartile,
    High,
}

impl ErrorCorrection {
    fn level(self) -> EcLevel {
        match self {
            ErrorCorrection::Low => EcLevel::L,
            ErrorCorrection::Medium => EcLevel::M,
            ErrorCorrection::Quartile => EcLevel::Q,
            ErrorCorrection::High => EcLevel::H,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ErrorCorrection::Low => "L",
            ErrorCorrection::Medium => "M",
            ErrorCorrection::Quartile => "Q",
            ErrorCorrection::High => "H",
        }
    }
}

/// The modules of a QR symbol, without quiet zone. `true` is dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    version: u8,
    eci_utf8: bool,
    modules: Vec<bool>,
}

impl QrMatrix {
    /// Modules per side.
    pub fn width(&self) -> usize {
        self.width
    }

    /// QR version 1–40.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Whether the symbol carries ECI 000026 (the payload has non-ASCII characters).
    pub fn uses_eci_utf8(&self) -> bool {
        self.eci_utf8
    }

    /// Whether the module at column `x`, row `y` is dark; outside the symbol is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.modules[y * self.width + x]
    }

    /// A grayscale PNG: black modules of `module_px` pixels on white, with `quiet_zone_modules` (at least 4) of white
    /// around.
    pub fn to_png(&self, module_px: u32, quiet_zone_modules: u32) -> Result<Vec<u8>, MpmError> {
        if quiet_zone_modules < MIN_QUIET_ZONE {
            return Err(MpmError::QuietZoneTooSmall { modules: quiet_zone_modules });
        }
        if !(1..=MAX_MODULE_PX).contains(&module_px) {
            return Err(MpmError::ModuleSize { px: module_px, max: MAX_MODULE_PX });
        }
        let modules = self.width as u32 + 2 * quiet_zone_modules; // width ≤ 177
        let side = modules * module_px;
        let image = GrayImage::from_fn(side, side, |px, py| {
            let x = (px / module_px) as usize;
            let y = (py / module_px) as usize;
            let q = quiet_zone_modules as usize;
            let dark = x >= q && y >= q && self.is_dark(x - q, y - q);
            Luma([if dark { 0 } else { 255 }])
        });
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .map_err(|e| MpmError::QrEncode { detail: format!("PNG encoding failed: {e}") })?;
        Ok(png)
    }
}

/// The smallest QR symbol holding `payload` in byte mode at `ec`, with ECI 000026 first if the payload has any
/// character outside printable ASCII.
pub fn qr_matrix(payload: &str, ec: ErrorCorrection) -> Result<QrMatrix, MpmError> {
    let eci_utf8 = payload.chars().any(|c| !(' '..='~').contains(&c));
    let level = ec.level();
    for v in 1..=40u8 {
        let mut bits = Bits::new(Version::Normal(i16::from(v)));
        let pushed = (|| {
            if eci_utf8 {
                bits.push_eci_designator(ECI_UTF8)?;
            }
            bits.push_byte_data(payload.as_bytes())?;
            bits.push_terminator(level)
        })();
        match pushed {
            Ok(()) => {}
            Err(QrError::DataTooLong) => continue,
            Err(e) => return Err(MpmError::QrEncode { detail: e.to_string() }),
        }
        let code = QrCode::with_bits(bits, level).map_err(|e| MpmError::QrEncode { detail: e.to_string() })?;
        let width = code.width();
        let modules = code.into_colors().into_iter().map(|c| c == Color::Dark).collect();
        return Ok(QrMatrix { width, version: v, eci_utf8, modules });
    }
    Err(MpmError::QrTooLong { bytes: payload.len(), level: ec.name() })
}

/// A PNG of the store code at error correction M.
pub fn render_png(payload: &str, module_px: u32, quiet_zone_modules: u32) -> Result<Vec<u8>, MpmError> {
    if quiet_zone_modules < MIN_QUIET_ZONE {
        return Err(MpmError::QuietZoneTooSmall { modules: quiet_zone_modules });
    }
    qr_matrix(payload, ErrorCorrection::Medium)?.to_png(module_px, quiet_zone_modules)
}

pub use super::decode::decode_image;

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;

    const CHINESE: &str = "00020101021126300015com.example.cds0107IDX00015204581253031565802CN5917ZHANG SAN NOODLES\
                           6008SHANGHAI64200002ZH0104张三面馆0202上海6304A940";

    #[test]
    fn byte_mode_with_eci_only_for_non_ascii() {
        let m = qr_matrix(CHINESE, ErrorCorrection::Medium).unwrap();
        assert!(m.uses_eci_utf8());
        assert_eq!(m.width(), usize::from(m.version()) * 4 + 17);
        let ascii = qr_matrix("HTTPS://QR.SAMPLEDOMAIN.COM/MPM/3/R1BMRA", ErrorCorrection::Medium).unwrap();
        assert!(!ascii.uses_eci_utf8());
        // Finder pattern corner is dark, the module just inside its ring is light.
        assert!(ascii.is_dark(0, 0) && !ascii.is_dark(1, 1) && !ascii.is_dark(9999, 0));
    }

    #[test]
    fn higher_error_correction_needs_a_bigger_symbol() {
        let low = qr_matrix(CHINESE, ErrorCorrection::Low).unwrap();
        let high = qr_matrix(CHINESE, ErrorCorrection::High).unwrap();
        assert!(high.version() > low.version());
    }

    #[test]
    fn too_long_for_any_symbol() {
        let huge = "A".repeat(3000);
        assert_eq!(qr_matrix(&huge, ErrorCorrection::High), Err(MpmError::QrTooLong { bytes: 3000, level: "H" }));
    }

    #[test]
    fn png_round_trip_is_byte_for_byte_including_chinese() {
        for payload in [CHINESE, "HTTPS://QR.SAMPLEDOMAIN.COM/MPM/3/R1BMRDA5NVBMVlMwMDIwMUNEU0Q"] {
            let png = render_png(payload, 4, 4).unwrap();
            assert_eq!(decode_image(&png).unwrap(), payload);
        }
    }

    #[test]
    fn jpeg_photo_round_trip() {
        let png = render_png(CHINESE, 6, 6).unwrap();
        let gray = image::load_from_memory(&png).unwrap().to_luma8();
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, 70).encode_image(&gray).unwrap();
        assert_eq!(decode_image(&jpeg).unwrap(), CHINESE);
    }

    #[test]
    fn quiet_zone_and_module_size_are_checked() {
        assert_eq!(render_png(CHINESE, 4, 2), Err(MpmError::QuietZoneTooSmall { modules: 2 }));
        assert_eq!(
            render_png(CHINESE, 4, 2).unwrap_err().to_string(),
            "the quiet zone is 2 modules; a QR code needs at least 4 — add 2"
        );
        assert_eq!(render_png(CHINESE, 0, 4), Err(MpmError::ModuleSize { px: 0, max: MAX_MODULE_PX }));
    }

    #[test]
    fn image_without_a_code_gives_a_clear_error() {
        let blank = GrayImage::from_pixel(200, 200, Luma([255]));
        let mut png = Vec::new();
        blank.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let err = decode_image(&png).unwrap_err();
        assert_eq!(err, MpmError::NoQrCode);
        assert!(err.to_string().starts_with("no QR code was found in the image"));
        assert!(matches!(decode_image(b"not an image"), Err(MpmError::Image { .. })));
    }

    #[test]
    fn the_same_code_twice_in_one_image_is_one_code() {
        // A printed table tent carries the store's code front and back: a photo of it binds like one code.
        let a = image::load_from_memory(&render_png("STORE CODE", 4, 4).unwrap()).unwrap().to_luma8();
        let mut both = GrayImage::from_pixel(a.width() * 2, a.height(), Luma([255]));
        image::imageops::replace(&mut both, &a, 0, 0);
        image::imageops::replace(&mut both, &a, i64::from(a.width()), 0);
        let mut png = Vec::new();
        both.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        assert_eq!(decode_image(&png).as_deref(), Ok("STORE CODE"));
    }

    #[test]
    fn two_codes_in_one_image_are_refused() {
        let a = image::load_from_memory(&render_png("FIRST CODE", 4, 4).unwrap()).unwrap().to_luma8();
        let b = image::load_from_memory(&render_png("SECOND CODE", 4, 4).unwrap()).unwrap().to_luma8();
        let mut both = GrayImage::from_pixel(a.width() + b.width(), a.height().max(b.height()), Luma([255]));
        image::imageops::replace(&mut both, &a, 0, 0);
        image::imageops::replace(&mut both, &b, i64::from(a.width()), 0);
        let mut png = Vec::new();
        both.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        assert_eq!(decode_image(&png), Err(MpmError::SeveralQrCodes { count: 2 }));
    }
}
