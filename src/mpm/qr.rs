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
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::types::QrError;
use qrcode::{Color, EcLevel, Version};

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

    /// The dark modules as horizontal runs, row by row: (row, first column, length). Printing draws one rectangle
    /// per run, so there are no seams between neighbouring modules.
    pub fn dark_runs(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (0..self.width).flat_map(move |row| {
            let mut col = 0;
            std::iter::from_fn(move || {
                while col < self.width && !self.is_dark(col, row) {
                    col += 1;
                }
                if col == self.width {
                    return None;
                }
                let start = col;
                while col < self.width && self.is_dark(col, row) {
                    col += 1;
                }
                Some((row, start, col - start))
            })
        })
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

/// The bit stream of `payload` in the smallest version that holds it at `level`, with that version; None when no
/// version does.
fn fit(payload: &str, level: EcLevel, eci_utf8: bool) -> Result<Option<(Bits, u8)>, MpmError> {
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
            Ok(()) => return Ok(Some((bits, v))),
            Err(QrError::DataTooLong) => continue,
            Err(e) => return Err(MpmError::QrEncode { detail: e.to_string() }),
        }
    }
    Ok(None)
}

fn needs_eci(payload: &str) -> bool {
    payload.chars().any(|c| !(' '..='~').contains(&c))
}

/// Modules per side of the symbol [`qr_matrix`] would make, without making it (cheap: sizing decisions try several
/// levels).
pub fn qr_symbol_width(payload: &str, ec: ErrorCorrection) -> Result<usize, MpmError> {
    match fit(payload, ec.level(), needs_eci(payload))? {
        Some((_, v)) => Ok(17 + 4 * usize::from(v)),
        None => Err(MpmError::QrTooLong { bytes: payload.len(), level: ec.name() }),
    }
}

/// The smallest QR symbol holding `payload` in byte mode at `ec`, with ECI 000026 first if the payload has any
/// character outside printable ASCII.
///
/// The mask is the one of the eight with the lowest penalty (ISO/IEC 18004 §7.8.3), scored by [`penalty`] on a
/// plain grid: the qrcode crate's own scoring (`QrCode::with_bits`) is correct but took most of the time of
/// printing a thousand stands.
pub fn qr_matrix(payload: &str, ec: ErrorCorrection) -> Result<QrMatrix, MpmError> {
    let eci_utf8 = needs_eci(payload);
    let level = ec.level();
    let Some((bits, v)) = fit(payload, level, eci_utf8)? else {
        return Err(MpmError::QrTooLong { bytes: payload.len(), level: ec.name() });
    };
    let version = bits.version();
    let data = bits.into_bytes();
    let (encoded, ec_data) = qrcode::ec::construct_codewords(&data, version, level)
        .map_err(|e| MpmError::QrEncode { detail: e.to_string() })?;
    let mut base = Canvas::new(version, level);
    base.draw_all_functional_patterns();
    base.draw_data(&encoded, &ec_data);
    let width = 17 + 4 * usize::from(v);
    let mut best: Option<(u32, Vec<bool>)> = None;
    for pattern in MASKS {
        let mut canvas = base.clone();
        canvas.apply_mask(pattern);
        let modules: Vec<bool> = canvas.into_colors().into_iter().map(|c| c == Color::Dark).collect();
        let score = penalty(&modules, width);
        if best.as_ref().is_none_or(|(b, _)| score < *b) {
            best = Some((score, modules));
        }
    }
    let Some((_, modules)) = best else {
        return Err(MpmError::QrEncode { detail: "no mask".into() });
    };
    Ok(QrMatrix { width, version: v, eci_utf8, modules })
}

/// The eight data masks of a QR symbol.
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// N1 and N3 of one row or column: 3 + (n − 5) for each run of n ≥ 5 alike; 40 for each 1011101 with four light
/// modules before it, and 40 for each with four after it (outside the symbol counts as light).
fn line_penalty(cells: &[bool]) -> u32 {
    let mut score = 0;
    let mut run = 1u32;
    for j in 1..=cells.len() {
        if j < cells.len() && cells[j] == cells[j - 1] {
            run += 1;
        } else {
            if run >= 5 {
                score += run - 2;
            }
            run = 1;
        }
    }
    let light = |j: isize| usize::try_from(j).ok().and_then(|j| cells.get(j)).is_none_or(|dark| !dark);
    for j in 0..cells.len().saturating_sub(6) {
        if cells[j..j + 7] != [true, false, true, true, true, false, true] {
            continue;
        }
        let j = j as isize;
        if (1..=4).all(|k| light(j - k)) {
            score += 40;
        }
        if (7..=10).all(|k| light(j + k)) {
            score += 40;
        }
    }
    score
}

/// The mask penalty of ISO/IEC 18004 §7.8.3 for a `width`² grid (`true` dark): N1 runs of five or more alike in a
/// row or column, N2 2×2 blocks alike, N3 finder-like 1:1:3:1:1 patterns with four light modules on one side, N4
/// the dark share's distance from half.
fn penalty(m: &[bool], width: usize) -> u32 {
    let at = |x: usize, y: usize| m[y * width + x];
    let mut score = 0u32;
    // N1 and N3 along every row and every column.
    let mut line = vec![false; width];
    for i in 0..width {
        for (j, cell) in line.iter_mut().enumerate() {
            *cell = at(j, i);
        }
        score += line_penalty(&line);
        for (j, cell) in line.iter_mut().enumerate() {
            *cell = at(i, j);
        }
        score += line_penalty(&line);
    }
    // N2
    for y in 0..width - 1 {
        for x in 0..width - 1 {
            let c = at(x, y);
            if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                score += 3;
            }
        }
    }
    // N4
    let dark = m.iter().filter(|d| **d).count();
    let percent = dark * 100 / m.len().max(1);
    let k = percent.abs_diff(50) / 5;
    score + 10 * k as u32
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
    fn the_mask_penalty_follows_iso_18004() {
        // N1: a run of n ≥ 5 costs n − 2.
        assert_eq!(line_penalty(&[false; 11]), 9);
        assert_eq!(line_penalty(&[true, true, true, true, true, true, false]), 4);
        assert_eq!(line_penalty(&[true, true, true, true, false, true, true]), 0);
        // N3: 1011101 with four light before (outside the symbol) and four light after: 40 + 40.
        let finder = [true, false, true, true, true, false, true, false, false, false, false];
        assert_eq!(line_penalty(&finder), 80);
        // Only light after, not before: 40.
        let mut inner = [false; 13];
        inner[0] = true;
        inner[2..9].copy_from_slice(&[true, false, true, true, true, false, true]);
        assert_eq!(line_penalty(&inner), 40);
        // 7 × 7 all dark: N1 5 for each of 14 lines, N2 36 blocks of 3, N4 100 % dark is 10 steps of 5 % from half.
        assert_eq!(penalty(&[true; 49], 7), 14 * 5 + 36 * 3 + 100);
    }

    #[test]
    fn dark_runs_cover_exactly_the_dark_modules() {
        let m = qr_matrix("HTTPS://QR.ALIPAY.COM/TEST", ErrorCorrection::Medium).unwrap();
        let mut from_runs = vec![false; m.width() * m.width()];
        let mut runs = 0;
        for (row, start, len) in m.dark_runs() {
            assert!(len > 0);
            assert!(start == 0 || !m.is_dark(start - 1, row), "a run starts after a light module");
            assert!(!m.is_dark(start + len, row), "a run ends before a light module or the edge");
            for col in start..start + len {
                from_runs[row * m.width() + col] = true;
            }
            runs += 1;
        }
        assert_eq!(from_runs, m.modules);
        assert!(runs < m.modules.iter().filter(|d| **d).count(), "runs merge neighbours");
    }

    #[test]
    fn the_symbol_width_is_known_without_making_the_symbol() {
        for payload in ["HELLO", &"x".repeat(300), "二维码 ünïcode"] {
            for ec in [ErrorCorrection::Low, ErrorCorrection::Medium, ErrorCorrection::Quartile, ErrorCorrection::High]
            {
                assert_eq!(qr_symbol_width(payload, ec).unwrap(), qr_matrix(payload, ec).unwrap().width());
            }
        }
        assert!(matches!(qr_symbol_width(&"x".repeat(3000), ErrorCorrection::High), Err(MpmError::QrTooLong { .. })));
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
