//! The three stand layouts, drawn onto a [`Canvas`] in millimetres (y grows downward). The PDF and PNG back ends
//! implement the canvas, so both outputs come from this one description.

use super::fonts::{FontBook, Shaped};
use super::{INSTRUCTION_EN, INSTRUCTION_ZH, Logo, PrintError, StandData, Template};
use crate::mpm::QrMatrix;

/// Points per millimetre.
pub const PT_PER_MM: f32 = 72.0 / 25.4;
/// The quiet zone printed around every code, in modules (ISO/IEC 18004 asks for at least 4).
pub const QUIET_ZONE_MODULES: usize = 4;
/// The logo's share of the symbol's side (without quiet zone). Its white backing adds a module each side, so it
/// covers about 6 % of the symbol (9.9 % at version 1): well inside what levels H (30 %) and Q (25 %) restore, the
/// levels chosen when there is a logo ([`super::readability`]).
pub const LOGO_SIDE_FRACTION: f32 = 0.22;

/// The side of the square each template prints its code in (quiet zone included), in millimetres: what the module
/// size, and so the readability rule ([`super::readability`]), follows from.
pub const fn code_side_mm(template: Template) -> f32 {
    match template {
        Template::Sticker => 39.0,
        Template::Tent => 60.0,
        Template::Poster => 132.0,
    }
}

/// The printed size of one module of a symbol `width` modules wide (without quiet zone) on `template`.
pub fn module_mm(template: Template, width: usize) -> f32 {
    code_side_mm(template) / (width as f32 + 2.0 * QUIET_ZONE_MODULES as f32)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

pub const BLACK: Rgb = Rgb(0, 0, 0);
pub const WHITE: Rgb = Rgb(255, 255, 255);
pub const INK: Rgb = Rgb(0x1d, 0x1d, 0x1f);
pub const GREY: Rgb = Rgb(0x6e, 0x6e, 0x73);
pub const BRAND: Rgb = Rgb(0x12, 0x3a, 0x6b);

/// What a back end must draw. Coordinates and sizes in millimetres.
pub trait Canvas {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb);
    fn rounded_rect(&mut self, x: f32, y: f32, w: f32, h: f32, radius: f32, color: Rgb);
    fn dashed_line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: Rgb);
    /// A line of text with its baseline starting at (x, y).
    fn text(&mut self, run: &Shaped, x: f32, y: f32, color: Rgb);
    /// The dark modules of `qr`, top-left module at (x, y), each `module` wide. The caller paints the light
    /// background (quiet zone included).
    fn qr(&mut self, qr: &QrMatrix, x: f32, y: f32, module: f32);
    fn image(&mut self, logo: &Logo, x: f32, y: f32, w: f32, h: f32);
    /// Everything until [`Canvas::pop`] is turned upside down around (cx, cy).
    fn push_rotate_180(&mut self, cx: f32, cy: f32);
    /// Everything until [`Canvas::pop`] has its origin moved to (dx, dy).
    fn push_translate(&mut self, dx: f32, dy: f32);
    fn pop(&mut self);
    /// What `draw` draws, with its origin at (x, y), inside a box of `size` from there. Everything drawn under one
    /// `key` must look the same wherever it is placed: the PDF keeps one copy of artwork that comes again (on
    /// later pages or on the other face of a tent) and places that copy.
    fn artwork(
        &mut self,
        key: &str,
        x: f32,
        y: f32,
        size: (f32, f32),
        draw: &mut dyn FnMut(&mut dyn Canvas) -> Result<(), PrintError>,
    ) -> Result<(), PrintError>;
}

/// Badge colours by wallet: Alipay blue, WeChat green, anything else dark grey.
fn badge_color(label: &str) -> Rgb {
    let l = label.to_lowercase();
    if l.contains("alipay+") || l.contains("alipayplus") {
        Rgb(0x16, 0x2f, 0x6b)
    } else if l.contains("alipay") || l.contains("支付宝") {
        Rgb(0x16, 0x77, 0xff)
    } else if l.contains("wechat") || l.contains("微信") {
        Rgb(0x07, 0xa8, 0x4f)
    } else {
        Rgb(0x3a, 0x3a, 0x3c)
    }
}

/// Characters that must not start a line (closing brackets and punctuation).
const NO_LINE_START: &str = "）)」』】〕》，。、：；！？,.:;!?…";

/// Greedy line breaking of `text` at `size`: at the last space that fits when there is one (Latin), else between
/// any two characters (Chinese), never putting closing punctuation first on a line.
fn break_lines(run: &Shaped, width: f32, size: f32) -> Vec<String> {
    let text = run.text.as_str();
    let mut lines = Vec::new();
    let mut start = 0; // byte offset of the current line
    let mut line_width = 0.0;
    let mut last_space: Option<usize> = None; // glyph index of the last space on this line
    let mut first_glyph = 0;
    let mut i = 0;
    while i < run.glyphs.len() {
        let (advance, range) = (run.glyphs[i].advance, &run.glyphs[i].range);
        let is_space = text[range.clone()].chars().all(char::is_whitespace);
        if line_width + advance * size > width && i > first_glyph && !is_space {
            let mut cut = i;
            if let Some(sp) = last_space.filter(|sp| *sp > first_glyph) {
                cut = sp;
            } else {
                while cut > first_glyph + 1 && NO_LINE_START.contains(&text[run.glyphs[cut].range.clone()]) {
                    cut -= 1;
                }
            }
            let cut_byte = run.glyphs[cut].range.start;
            lines.push(text[start..cut_byte].trim().to_owned());
            start = cut_byte;
            first_glyph = cut;
            // Skip the space we broke at.
            while first_glyph < run.glyphs.len() && text[run.glyphs[first_glyph].range.clone()].trim().is_empty() {
                first_glyph += 1;
            }
            if let Some(g) = run.glyphs.get(first_glyph) {
                start = g.range.start;
            }
            i = first_glyph;
            line_width = 0.0;
            last_space = None;
            continue;
        }
        if is_space {
            last_space = Some(i);
        }
        line_width += advance * size;
        i += 1;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        lines.push(rest.to_owned());
    }
    lines
}

/// Text fitted into a width: one line at the largest size from `size` down to `min` that fits; else the largest
/// size at which it breaks into at most `max_lines` lines; else `max_lines` lines at `min`, the last ending in "…".
fn fit(
    fonts: &FontBook,
    text: &str,
    width: f32,
    size: f32,
    min: f32,
    max_lines: usize,
) -> Result<Vec<Shaped>, PrintError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let unit = fonts.shape(text, 1.0)?;
    let one_line = (width / unit.width()).min(size);
    if one_line >= min {
        return Ok(vec![unit.with_size(one_line)]);
    }
    let mut s = size;
    loop {
        let lines = break_lines(&unit, width, s);
        if lines.len() <= max_lines.max(1) {
            return lines.iter().map(|l| fonts.shape(l, s)).collect();
        }
        if s <= min {
            let mut kept: Vec<String> = lines.into_iter().take(max_lines.max(1)).collect();
            if let Some(last) = kept.last_mut() {
                while !last.is_empty() && fonts.shape(&format!("{last}…"), s)?.width() > width {
                    last.pop();
                }
                last.push('…');
            }
            return kept.iter().map(|l| fonts.shape(l, s)).collect();
        }
        s = (s * 0.92).max(min);
    }
}

/// Cap height of CJK/Latin text relative to the em, for vertical placement.
const ASCENT: f32 = 0.88;
const LINE_GAP: f32 = 1.25;

/// Draws `lines` centred on `cx` from `top`; returns the y below them.
fn lines_centred(c: &mut dyn Canvas, lines: &[Shaped], cx: f32, top: f32, color: Rgb) -> f32 {
    let mut y = top;
    for line in lines {
        c.text(line, cx - line.width() / 2.0, y + line.size_mm * ASCENT, color);
        y += line.size_mm * LINE_GAP;
    }
    y
}

/// Draws `lines` left-aligned at `x` from `top`; returns the y below them.
fn lines_left(c: &mut dyn Canvas, lines: &[Shaped], x: f32, top: f32, color: Rgb) -> f32 {
    let mut y = top;
    for line in lines {
        c.text(line, x, y + line.size_mm * ASCENT, color);
        y += line.size_mm * LINE_GAP;
    }
    y
}

/// A row of badges (white text on a coloured rounded rectangle), centred on `cx`, shrunk to fit `width`.
fn badge_row(
    c: &mut dyn Canvas,
    fonts: &FontBook,
    badges: &[String],
    cx: f32,
    top: f32,
    width: f32,
    size: f32,
) -> Result<f32, PrintError> {
    if badges.is_empty() {
        return Ok(top);
    }
    let mut size = size;
    let (runs, total) = loop {
        let runs: Vec<Shaped> = badges.iter().map(|b| fonts.shape(b, size)).collect::<Result<_, _>>()?;
        let pad = size * 0.6;
        let total: f32 = runs.iter().map(|r| r.width() + 2.0 * pad).sum::<f32>() + pad * (runs.len() - 1) as f32;
        if total <= width || size < 1.2 {
            break (runs, total);
        }
        size *= 0.9;
    };
    let pad = size * 0.6;
    let h = size * 1.6;
    let mut x = cx - total / 2.0;
    for run in &runs {
        let w = run.width() + 2.0 * pad;
        badge(c, run, x, top, w, h, pad)?;
        x += w + pad;
    }
    Ok(top + h)
}

/// One badge: white text on a rounded rectangle of the wallet's colour, `w` × `h` at (x, y). The same badge on
/// every page is one piece of artwork.
fn badge(c: &mut dyn Canvas, run: &Shaped, x: f32, y: f32, w: f32, h: f32, pad: f32) -> Result<(), PrintError> {
    let key = format!("badge|{}|{}|{w}|{h}", run.text, run.size_mm);
    c.artwork(&key, x, y, (w, h), &mut |c| {
        c.rounded_rect(0.0, 0.0, w, h, h * 0.3, badge_color(&run.text));
        c.text(run, pad, h / 2.0 + run.size_mm * 0.35, WHITE);
        Ok(())
    })
}

/// Lines that read the same on every stand (the instruction), drawn like [`lines_left`] (or centred on `x`) as one
/// piece of artwork; returns the y below them.
fn shared_lines(
    c: &mut dyn Canvas,
    lines: &[Shaped],
    x: f32,
    top: f32,
    color: Rgb,
    centred: bool,
) -> Result<f32, PrintError> {
    let mut y = top;
    for line in lines {
        let w = line.width();
        let h = line.size_mm * LINE_GAP;
        let left = if centred { x - w / 2.0 } else { x };
        let key = format!("line|{}|{}|{:?}", line.text, line.size_mm, color);
        c.artwork(&key, left, y, (w, h), &mut |c| {
            c.text(line, 0.0, line.size_mm * ASCENT, color);
            Ok(())
        })?;
        y += h;
    }
    Ok(y)
}

/// Badges stacked in a column at `x`, each its own width.
fn badge_column(
    c: &mut dyn Canvas,
    fonts: &FontBook,
    badges: &[String],
    x: f32,
    bottom: f32,
    width: f32,
    size: f32,
) -> Result<(), PrintError> {
    let h = size * 1.6;
    let pad = size * 0.6;
    let mut y = bottom - badges.len() as f32 * (h + 1.2) + 1.2;
    for badge in badges {
        let run = fonts.shape(badge, size)?;
        let run =
            if run.width() + 2.0 * pad > width { run.with_size(size * (width - 2.0 * pad) / run.width()) } else { run };
        let w = run.width() + 2.0 * pad;
        self::badge(c, &run, x, y, w, h, pad)?;
        y += h + 1.2;
    }
    Ok(())
}

/// The code with its white quiet zone (and the logo, if any) in a square of `side` at (x, y).
fn code(c: &mut dyn Canvas, qr: &QrMatrix, logo: Option<&Logo>, x: f32, y: f32, side: f32) {
    let n = qr.width() as f32;
    let module = side / (n + 2.0 * QUIET_ZONE_MODULES as f32);
    c.rect(x, y, side, side, WHITE);
    let x0 = x + module * QUIET_ZONE_MODULES as f32;
    let y0 = y + module * QUIET_ZONE_MODULES as f32;
    c.qr(qr, x0, y0, module);
    if let Some(logo) = logo {
        let symbol = n * module;
        let box_side = symbol * LOGO_SIDE_FRACTION;
        let bx = x0 + (symbol - box_side) / 2.0;
        let by = y0 + (symbol - box_side) / 2.0;
        c.rounded_rect(bx - module, by - module, box_side + 2.0 * module, box_side + 2.0 * module, module, WHITE);
        let (iw, ih) = (logo.width as f32, logo.height as f32);
        let scale = box_side / iw.max(ih);
        let (w, h) = (iw * scale, ih * scale);
        c.image(logo, bx + (box_side - w) / 2.0, by + (box_side - h) / 2.0, w, h);
    }
}

/// Draws one page of `template` for `stand`.
pub fn draw(
    c: &mut dyn Canvas,
    fonts: &FontBook,
    template: Template,
    stand: &StandData,
    qr: &QrMatrix,
    logo: Option<&Logo>,
) -> Result<(), PrintError> {
    let (w, h) = template.size_mm();
    c.rect(0.0, 0.0, w, h, WHITE);
    match template {
        Template::Sticker => sticker(c, fonts, stand, qr, logo),
        Template::Tent => {
            // Folded across the middle: the lower face stands upright, the upper one is printed upside down so it
            // reads upright from the other side of the table.
            c.push_rotate_180(w / 2.0, h / 4.0);
            let top = tent_face(c, fonts, stand, qr, logo, 0.0);
            c.pop();
            top?;
            tent_face(c, fonts, stand, qr, logo, h / 2.0)?;
            let fold = fonts.shape("沿虚线对折 Fold here", 1.8)?;
            c.artwork("tent-fold", 0.0, h / 2.0 - 3.0, (w, 3.5), &mut |c| {
                c.dashed_line((0.0, 3.0), (w, 3.0), 0.2, GREY);
                c.text(&fold, w - fold.width() - 2.0, 2.2, GREY);
                Ok(())
            })
        }
        Template::Poster => poster(c, fonts, stand, qr, logo),
    }
}

/// What the stand tells the customer to do: scan to pay, or, on a sample (a store not onboarded yet), that it is
/// only a sample.
fn instruction(stand: &StandData) -> (&'static str, &'static str) {
    if super::source::is_sample(stand) {
        ("样例，请勿扫码", "Sample only")
    } else {
        (INSTRUCTION_ZH, INSTRUCTION_EN)
    }
}

fn sticker(
    c: &mut dyn Canvas,
    fonts: &FontBook,
    stand: &StandData,
    qr: &QrMatrix,
    logo: Option<&Logo>,
) -> Result<(), PrintError> {
    let (w, _) = Template::Sticker.size_mm();
    let cx = w / 2.0;
    let zh = fit(fonts, &stand.name_zh, 54.0, 3.6, 2.4, 1)?;
    let mut y = lines_centred(c, &zh, cx, 2.2, INK);
    let latin = fit(fonts, &stand.name_latin, 54.0, 2.2, 1.6, 1)?;
    y = lines_centred(c, &latin, cx, y, GREY);
    let side = code_side_mm(Template::Sticker);
    let top = y.max(7.5);
    code(c, qr, logo, cx - side / 2.0, top, side);
    let (instruction_zh, instruction_en) = instruction(stand);
    let instruction = fonts.shape(&format!("{instruction_zh} {instruction_en}"), 2.8)?;
    let y = shared_lines(c, &[instruction], cx, top + side + 0.2, INK, true)?;
    badge_row(c, fonts, &stand.badges, cx, y + 0.2, 56.0, 1.7)?;
    Ok(())
}

fn tent_face(
    c: &mut dyn Canvas,
    fonts: &FontBook,
    stand: &StandData,
    qr: &QrMatrix,
    logo: Option<&Logo>,
    top: f32,
) -> Result<(), PrintError> {
    let side = code_side_mm(Template::Tent);
    code(c, qr, logo, 3.0, top + 7.0, side);
    let x = 66.0;
    let width = 36.0;
    let zh = fit(fonts, &stand.name_zh, width, 5.2, 3.4, 2)?;
    let mut y = lines_left(c, &zh, x, top + 9.0, INK);
    let latin = fit(fonts, &stand.name_latin, width, 3.0, 2.2, 2)?;
    y = lines_left(c, &latin, x, y + 0.4, GREY);
    let (instruction_zh, instruction_en) = instruction(stand);
    let zh_instr = fit(fonts, instruction_zh, width, 6.0, 4.0, 1)?;
    y = shared_lines(c, &zh_instr, x, y + 3.0, BRAND, false)?;
    let en_instr = fit(fonts, instruction_en, width, 3.6, 2.6, 1)?;
    shared_lines(c, &en_instr, x, y, BRAND, false)?;
    badge_column(c, fonts, &stand.badges, x, top + 64.0, width, 2.2)?;
    let code_line = fonts.shape(&format!("No. {}", stand.store_code), 1.8)?;
    c.text(&code_line, x, top + 69.0, GREY);
    Ok(())
}

fn poster(
    c: &mut dyn Canvas,
    fonts: &FontBook,
    stand: &StandData,
    qr: &QrMatrix,
    logo: Option<&Logo>,
) -> Result<(), PrintError> {
    let (w, h) = Template::Poster.size_mm();
    let cx = w / 2.0;
    c.rect(0.0, 0.0, w, 64.0, BRAND);
    let zh = fit(fonts, &stand.name_zh, 180.0, 15.0, 10.0, 2)?;
    let latin = fit(fonts, &stand.name_latin, 180.0, 7.0, 5.0, 1)?;
    let block: f32 = zh.iter().chain(&latin).map(|l| l.size_mm * LINE_GAP).sum();
    let y = lines_centred(c, &zh, cx, (64.0 - block) / 2.0 + 1.0, WHITE);
    lines_centred(c, &latin, cx, y, Rgb(0xdd, 0xe6, 0xf3));
    let side = code_side_mm(Template::Poster);
    code(c, qr, logo, cx - side / 2.0, 76.0, side);
    let (instruction_zh, instruction_en) = instruction(stand);
    let zh_instr = fonts.shape(instruction_zh, 16.0)?;
    let y = shared_lines(c, &[zh_instr], cx, 214.0, BRAND, true)?;
    let en_instr = fonts.shape(instruction_en, 8.0)?;
    let y = shared_lines(c, &[en_instr], cx, y, BRAND, true)?;
    badge_row(c, fonts, &stand.badges, cx, y + 8.0, 180.0, 6.0)?;
    let footer = fonts.shape(&format!("门店编号 Store No. {}", stand.store_code), 3.5)?;
    lines_centred(c, &[footer], cx, h - 12.0, GREY);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Shaped]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn short_text_stays_on_one_line_at_full_size() {
        let fonts = FontBook::global();
        let lines = fit(fonts, "演示门店", 36.0, 5.2, 3.4, 2).unwrap();
        assert_eq!(texts(&lines), ["演示门店"]);
        assert_eq!(lines[0].size_mm, 5.2);
    }

    #[test]
    fn long_chinese_breaks_without_orphaned_punctuation() {
        let fonts = FontBook::global();
        let lines = fit(fonts, "喜茶（北京国贸商城店）", 36.0, 5.2, 3.4, 2).unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.width() <= 36.0 + 0.01));
        assert!(!lines[1].text.starts_with('）'), "{:?}", texts(&lines));
        assert_eq!(texts(&lines).concat(), "喜茶（北京国贸商城店）");
    }

    #[test]
    fn latin_breaks_at_spaces_and_too_long_text_ends_in_an_ellipsis() {
        let fonts = FontBook::global();
        let lines = fit(fonts, "HEYTEA China World Mall Beijing Store", 30.0, 3.0, 2.9, 2).unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| !l.text.starts_with(' ') && !l.text.ends_with(' ')));
        let lines = fit(fonts, &"很长的名字".repeat(10), 20.0, 4.0, 3.5, 2).unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].text.ends_with('…'));
        assert!(lines.iter().all(|l| l.width() <= 20.0 + 0.01));
    }
}
