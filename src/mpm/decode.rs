//! Reading the store code back from a picture (a scan, a screenshot, a phone photo, a page rendered from a PDF).
//!
//! Why rqrr alone missed clean renders: on every failing page it finds no grid at all (detection, not decoding,
//! fails). It binarises with quirc's moving average along each row, then needs three finder patterns whose
//! 1:1:3:1:1 runs survive that threshold and a timing-pattern count giving a valid grid size. On a 60 mm sticker
//! at 100–205 dpi (about 2.5–5 px per module, not a whole number) the anti-aliased grey module edges fall on either
//! side of the threshold, so runs merge or split. Consistent with that, other thresholds (Otsu, local mean) or a
//! 2× upscale each rescued some failing pages but no one of them all; photos (blur, rotation, uneven light) fail
//! the same way more often.
//!
//! What was compared, on the corpus in tests/fixtures/qr (46 pdftoppm pages at 100–300 dpi, 54 simulated photos;
//! `cargo run --release --example qr_sweep`):
//!
//! | reader                                                   | pages | photos | time per picture (release) |
//! |----------------------------------------------------------|-------|--------|----------------------------|
//! | rqrr 0.11 alone (before)                                 | 38/46 | 31/54  | 20–180 ms                  |
//! | (a) rqrr on Otsu and local-mean thresholds, 2× / ½ scale* | 45/46 | 46/54  | up to 1.4 s when all fail  |
//! | (b) rxing 0.9 (the ZXing port), QR only, try harder      | 46/46 | 52/54  | 1–35 ms                    |
//! | this module: rqrr, then rxing, then rxing sharpened      | 46/46 | 53/54  | median 17–21 ms, worst 59  |
//! | zbarimg 0.23 (independent reference)                     | 44/46 | 49/54  |                            |
//!
//! *(a) was measured on the first draft of the corpus, whose photos could also be enlarged; (b) read a superset
//! of it there too. rxing reads a superset of what (a) and zbarimg read, and is faster than rqrr. Its cost: about
//! 3 minutes of a cold release build on two busy cores (rxing plus chrono, num and codepage-437; regex and
//! encoding_rs were already built), nothing beyond the Rust toolchain, and 0.7 MB more stripped binary. So: rqrr
//! first, unchanged for the pictures it settles; rxing when rqrr finds nothing or cannot read what it found.
//! rqrr's count of codes stays the evidence for "a readable code next to one nobody can read", because rxing's
//! multi-reader silently drops what it cannot decode; a code rqrr cannot read is first tried with rxing on its own
//! region, and a find overlapping a code that was read (a logo with finder-like squares) is not counted. Pages
//! rendered at every 5 dpi from 100 to 300 (492): all read, against 417 with rqrr alone.

use std::collections::HashSet;

use image::{GrayImage, Luma};
use rqrr::PreparedImage;
use rxing::{BarcodeFormat, DecodeHints};

use super::error::MpmError;

/// Pictures are first brought down (by whole-pixel box averaging) until their longer side is at most this many
/// pixels: a 48-megapixel phone photo (8000 × 6000) becomes 2667 × 2000, which keeps a code filling a fifth of
/// the frame at several pixels per module while bounding the work.
const MAX_SIDE: u32 = 3000;

/// Reads the one QR code in a PNG or JPEG image and returns its text exactly. The same code shown more than once
/// (a printed table tent carries it front and back) is one code; different codes, or several of which one cannot
/// be read, are refused: the picture must show only the store code.
///
/// rqrr goes first (it settles a clean picture); when it finds nothing, or something it cannot read, rxing
/// (ZXing's reader) looks for every QR code in the picture.
pub fn decode_image(bytes: &[u8]) -> Result<String, MpmError> {
    let image = image::load_from_memory(bytes).map_err(|e| MpmError::Image { detail: e.to_string() })?;
    decode_gray(image.into_luma8())
}

/// [`decode_image`] for a picture already decoded to grey (a rendered page, a camera frame).
pub fn decode_gray(gray: GrayImage) -> Result<String, MpmError> {
    let gray = working_copy(gray);
    let mut quick = read_rqrr(&gray);
    // A "code" overlapping one that was read is a false find made of parts of it (a logo drawn like a QR code in
    // its centre has finder-like squares), not a second code.
    let read = quick.read_bounds.clone();
    quick.unreadable.retain(|(_, bounds)| !read.iter().any(|r| overlap(r, bounds)));
    let mut texts = quick.texts.clone();
    // A code rqrr found but could not read: rxing on that part of the picture (a table tent's second face).
    let mut unread = Vec::new();
    for (detail, bounds) in &quick.unreadable {
        match read_rxing(&region(&gray, bounds)).as_slice() {
            [] => unread.push(detail.clone()),
            read => texts.extend(read.iter().cloned()),
        }
    }
    let mut distinct_texts = distinct(&texts);
    if distinct_texts.len() > 1 {
        return Err(MpmError::SeveralQrCodes { count: distinct_texts.len() });
    }
    if unread.is_empty()
        && let Some(text) = distinct_texts.pop()
    {
        return Ok(text);
    }
    let mut thorough = read_rxing(&gray);
    if thorough.is_empty() {
        // A blurred photo: rxing again on a sharpened copy.
        thorough = read_rxing(&sharpened(&gray));
    }
    texts.extend(thorough.iter().cloned());
    let texts = distinct(&texts);
    let seen = quick.texts.len() + quick.unreadable.len();
    match texts.as_slice() {
        [] => match unread.into_iter().next() {
            Some(detail) => Err(MpmError::UnreadableQr { detail }),
            None => Err(MpmError::NoQrCode),
        },
        // rqrr saw more codes than rxing read: one of them is a code nobody can read next to the store code.
        [_] if thorough.len() < seen => Err(MpmError::SeveralQrCodes { count: seen }),
        [one] => Ok(one.clone()),
        several => Err(MpmError::SeveralQrCodes { count: several.len() }),
    }
}

/// Whether the boxes around two sets of corners intersect.
fn overlap(a: &[rqrr::Point; 4], b: &[rqrr::Point; 4]) -> bool {
    let span = |p: &[rqrr::Point; 4], f: fn(&rqrr::Point) -> i32| {
        (p.iter().map(f).min().unwrap_or(0), p.iter().map(f).max().unwrap_or(0))
    };
    let ((ax0, ax1), (ay0, ay1)) = (span(a, |p| p.x), span(a, |p| p.y));
    let ((bx0, bx1), (by0, by1)) = (span(b, |p| p.x), span(b, |p| p.y));
    ax0 <= bx1 && bx0 <= ax1 && ay0 <= by1 && by0 <= ay1
}

/// The part of the picture around a code rqrr found (its corners), with a fifth of its size added on each side
/// for the quiet zone.
fn region(gray: &GrayImage, bounds: &[rqrr::Point; 4]) -> GrayImage {
    let xs = bounds.iter().map(|p| i64::from(p.x));
    let ys = bounds.iter().map(|p| i64::from(p.y));
    let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
    let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
    let margin = (x1 - x0).max(y1 - y0) / 5;
    let clamp = |v: i64, max: u32| v.clamp(0, i64::from(max)) as u32;
    let (left, top) = (clamp(x0 - margin, gray.width()), clamp(y0 - margin, gray.height()));
    let (right, bottom) = (clamp(x1 + margin, gray.width()), clamp(y1 + margin, gray.height()));
    image::imageops::crop_imm(gray, left, top, right - left, bottom - top).to_image()
}

/// What rqrr found: the texts of the codes it read, and why the others could not be read (with their corners).
#[derive(Debug, Default)]
struct Found {
    texts: Vec<String>,
    /// The corners of the codes read.
    read_bounds: Vec<[rqrr::Point; 4]>,
    unreadable: Vec<(String, [rqrr::Point; 4])>,
}

/// rqrr with its own threshold (quirc's moving average along each row).
fn read_rqrr(gray: &GrayImage) -> Found {
    let (width, raw) = (gray.width() as usize, gray.as_raw());
    let mut prepared = PreparedImage::prepare_from_greyscale(width, gray.height() as usize, |x, y| raw[y * width + x]);
    let mut found = Found::default();
    for grid in prepared.detect_grids() {
        match grid.decode() {
            Ok((_, text)) => {
                found.texts.push(text);
                found.read_bounds.push(grid.bounds);
            }
            Err(e) => found.unreadable.push((e.to_string(), grid.bounds)),
        }
    }
    found
}

/// Every QR code rxing reads (ZXing's hybrid binariser, finder-pattern search with "try harder", the whole picture
/// searched again around each code found); nothing when it reads none.
fn read_rxing(gray: &GrayImage) -> Vec<String> {
    let mut hints = DecodeHints {
        TryHarder: Some(true),
        PossibleFormats: Some(HashSet::from([BarcodeFormat::QR_CODE])),
        ..DecodeHints::default()
    };
    rxing::helpers::detect_multiple_in_luma_with_hints(gray.as_raw().clone(), gray.width(), gray.height(), &mut hints)
        .map(|results| results.iter().map(|r| r.getText().to_owned()).collect())
        .unwrap_or_default()
}

/// Unsharp masking: each pixel pushed away from the mean of the 7 × 7 square around it by 1.5 times the
/// difference (a summed-area table, so linear in the pixels).
fn sharpened(gray: &GrayImage) -> GrayImage {
    const RADIUS: usize = 3;
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let raw = gray.as_raw();
    let stride = w + 1;
    let mut integral = vec![0u64; stride * (h + 1)];
    for y in 0..h {
        let mut row = 0u64;
        for x in 0..w {
            row += u64::from(raw[y * w + x]);
            integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1] + row;
        }
    }
    GrayImage::from_fn(gray.width(), gray.height(), |x, y| {
        let (x, y) = (x as usize, y as usize);
        let (x0, x1) = (x.saturating_sub(RADIUS), (x + RADIUS + 1).min(w));
        let (y0, y1) = (y.saturating_sub(RADIUS), (y + RADIUS + 1).min(h));
        let sum = integral[y1 * stride + x1] + integral[y0 * stride + x0]
            - integral[y0 * stride + x1]
            - integral[y1 * stride + x0];
        let mean = sum as f32 / ((x1 - x0) * (y1 - y0)) as f32;
        let px = f32::from(raw[y * w + x]);
        Luma([(px + 1.5 * (px - mean)).clamp(0.0, 255.0) as u8])
    })
}

fn distinct(texts: &[String]) -> Vec<String> {
    let mut distinct = texts.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
}

/// The picture in grey, brought down by whole-pixel box averaging until its longer side is at most [`MAX_SIDE`].
fn working_copy(gray: GrayImage) -> GrayImage {
    let longer = gray.width().max(gray.height());
    let factor = longer.div_ceil(MAX_SIDE);
    if factor <= 1 { gray } else { box_down(&gray, factor) }
}

/// Each `factor`×`factor` block becomes one pixel, its mean (partial blocks at the edges are dropped).
fn box_down(gray: &GrayImage, factor: u32) -> GrayImage {
    let (w, h) = ((gray.width() / factor).max(1), (gray.height() / factor).max(1));
    let mut sums = vec![0u32; w as usize];
    let mut out = GrayImage::new(w, h);
    let area = factor * factor;
    for by in 0..h {
        sums.fill(0);
        for y in by * factor..((by + 1) * factor).min(gray.height()) {
            let start = (y * gray.width()) as usize;
            let row = &gray.as_raw()[start..start + (w * factor).min(gray.width()) as usize];
            for (i, px) in row.iter().enumerate() {
                sums[i / factor as usize] += u32::from(*px);
            }
        }
        for (bx, sum) in sums.iter().enumerate() {
            out.put_pixel(bx as u32, by, Luma([(sum / area) as u8]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpm::qr::{ErrorCorrection, qr_matrix, render_png};

    fn gray(png: &[u8]) -> GrayImage {
        image::load_from_memory(png).unwrap().to_luma8()
    }

    /// A version-1 code whose data modules are half flipped (finder, timing and format modules intact): found, but
    /// beyond what error correction restores.
    fn damaged_code(text: &str, module_px: u32) -> GrayImage {
        let m = qr_matrix(text, ErrorCorrection::Medium).unwrap();
        assert_eq!(m.version(), 1);
        let (w, q) = (m.width() as u32, 4);
        GrayImage::from_fn((w + 2 * q) * module_px, (w + 2 * q) * module_px, |px, py| {
            let (x, y) = (px / module_px, py / module_px);
            let inside = x >= q && y >= q && x < q + w && y < q + w;
            let (mx, my) = (x.wrapping_sub(q), y.wrapping_sub(q));
            let flipped = inside && mx >= 9 && my >= 9 && (mx + my) % 2 == 0;
            let dark = inside && (m.is_dark(mx as usize, my as usize) != flipped);
            Luma([if dark { 0 } else { 255 }])
        })
    }

    #[test]
    fn a_readable_code_next_to_an_unreadable_one_is_refused() {
        let a = gray(&render_png("FIRST CODE", 4, 4).unwrap());
        let b = damaged_code("SECOND", 4);
        assert!(matches!(decode_gray(b.clone()), Err(MpmError::UnreadableQr { .. })), "the damaged code alone");
        let mut both = GrayImage::from_pixel(a.width() + b.width(), a.height().max(b.height()), Luma([255]));
        image::imageops::replace(&mut both, &a, 0, 0);
        image::imageops::replace(&mut both, &b, i64::from(a.width()), 0);
        assert_eq!(decode_gray(both), Err(MpmError::SeveralQrCodes { count: 2 }));
    }

    #[test]
    fn a_render_rqrr_misses_is_read() {
        // Issue 19: the S002 sticker as pdftoppm renders it at 115 dpi (about 3 px per module).
        let png = include_bytes!("../../tests/fixtures/qr/page-S002-sticker-115dpi.png");
        let expected = include_str!("../../tests/fixtures/qr/expected.tsv")
            .lines()
            .find_map(|l| l.strip_prefix("page-S002-sticker-115dpi.png\t")?.split('\t').next())
            .unwrap();
        let found = read_rqrr(&gray(png));
        assert!(found.texts.is_empty() && found.unreadable.is_empty(), "rqrr alone now reads it: {found:?}");
        assert_eq!(decode_image(png).as_deref(), Ok(expected));
    }

    #[test]
    fn a_blurred_code_is_read_once_sharpened() {
        let flat = sharpened(&GrayImage::from_pixel(20, 20, Luma([90])));
        assert!(flat.pixels().all(|p| p.0[0] == 90), "a flat area stays flat");
        let text = "00020101021126410018com.alipay.sandbox0115ALIPAYM00000001";
        let sharp = gray(&render_png(text, 4, 4).unwrap());
        // σ = 2 px at 4 px per module: too soft for rxing as it is, read once sharpened.
        let blurred = image::imageops::blur(&sharp, 2.0);
        assert_eq!(read_rxing(&blurred), Vec::<String>::new());
        assert_eq!(read_rxing(&sharpened(&blurred)), [text]);
        assert_eq!(decode_gray(blurred).as_deref(), Ok(text));
    }

    #[test]
    fn huge_pictures_are_scaled_down_first_and_still_read() {
        let big = GrayImage::from_pixel(8000, 6000, Luma([200]));
        let small = working_copy(big);
        assert_eq!((small.width(), small.height()), (2666, 2000));
        assert_eq!(small.get_pixel(100, 100), &Luma([200]));
        // A code at 50 px per module, 3450 px wide: read from the half-size copy.
        let text = "00020101021126410018com.alipay.sandbox0115ALIPAYM00000001".repeat(4);
        let png = render_png(&text, 50, 4).unwrap();
        let image = gray(&png);
        assert!(image.width() > MAX_SIDE, "{}", image.width());
        assert_eq!(decode_image(&png).as_deref(), Ok(text.as_str()));
    }

    #[test]
    fn empty_and_non_image_files_are_refused_clearly() {
        assert!(matches!(decode_image(b""), Err(MpmError::Image { .. })));
        assert!(matches!(decode_image(b"not an image"), Err(MpmError::Image { .. })));
        assert_eq!(decode_gray(GrayImage::new(0, 0)), Err(MpmError::NoQrCode));
    }
}
