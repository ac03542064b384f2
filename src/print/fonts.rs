//! Fonts for printed stands: the bundled Noto Sans SC (GB2312 subset) first, a system CJK font for names it cannot
//! draw, and a clear error when no font on the machine can.
//!
//! Text is laid out here (one glyph per character, advances from `hmtx`): store names are short single lines of
//! Chinese and Latin, which need no shaping beyond that. The same glyph runs feed both the PDF (krilla embeds a
//! subset of the font) and the PNG (glyph outlines filled with tiny-skia), so the two outputs match.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use skrifa::instance::{LocationRef, Size};
use skrifa::raw::FileRef;
use skrifa::{FontRef, MetadataProvider, string::StringId};

use super::PrintError;

/// Noto Sans SC, subset to GB2312 + ASCII + CJK punctuation (SIL OFL 1.1, assets/fonts/OFL.txt).
pub const BUNDLED_CJK_FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-gb2312.otf");

/// Where CJK fonts usually live: Debian/Ubuntu/Fedora, macOS, Windows. Checked in order after the bundled font.
pub const SYSTEM_CJK_FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\msyh.ttf",
    "C:\\Windows\\Fonts\\simhei.ttf",
    "C:\\Windows\\Fonts\\simsun.ttc",
];

/// One face of a font file, kept for the life of the process (fonts are loaded once).
#[derive(Debug)]
pub struct PrintFont {
    bytes: &'static [u8],
    index: u32,
    /// Where it came from: "bundled" or the file's path.
    pub source: String,
    pub(crate) krilla: krilla::text::Font,
    units_per_em: f32,
}

impl PrintFont {
    fn load(bytes: &'static [u8], index: u32, source: String) -> Option<PrintFont> {
        let font = FontRef::from_index(bytes, index).ok()?;
        let units_per_em = f32::from(font.metrics(Size::unscaled(), LocationRef::default()).units_per_em);
        let krilla = krilla::text::Font::new(krilla::Data::from(bytes), index)?;
        Some(PrintFont { bytes, index, source, krilla, units_per_em })
    }

    pub(crate) fn font_ref(&self) -> FontRef<'static> {
        // Checked when the font was loaded.
        FontRef::from_index(self.bytes, self.index).unwrap_or_else(|_| unreachable!("font parsed at load"))
    }

    pub(crate) fn units_per_em(&self) -> f32 {
        self.units_per_em
    }

    /// The characters of `text` this font has no glyph for (whitespace and controls are never missing).
    pub fn missing_chars(&self, text: &str) -> Vec<char> {
        let charmap = self.font_ref().charmap();
        let mut missing: Vec<char> =
            text.chars().filter(|c| !c.is_whitespace() && !c.is_control() && charmap.map(*c).is_none()).collect();
        missing.dedup();
        missing
    }

    fn family_name(&self) -> String {
        self.font_ref()
            .localized_strings(StringId::FAMILY_NAME)
            .english_or_first()
            .map(|s| s.chars().collect())
            .unwrap_or_default()
    }
}

/// A line of text laid out in one font: glyph ids and advances in em.
#[derive(Debug, Clone)]
pub struct Shaped {
    pub font: &'static PrintFont,
    pub text: String,
    /// Font size in millimetres (the em square).
    pub size_mm: f32,
    /// (glyph id, advance in em, byte range of its character in `text`).
    pub glyphs: Vec<(u32, f32, std::ops::Range<usize>)>,
}

impl Shaped {
    /// Width in millimetres.
    pub fn width(&self) -> f32 {
        self.glyphs.iter().map(|g| g.1).sum::<f32>() * self.size_mm
    }

    pub fn with_size(&self, size_mm: f32) -> Shaped {
        Shaped { size_mm, ..self.clone() }
    }
}

/// The bundled font and the system fonts found so far.
pub struct FontBook {
    bundled: &'static PrintFont,
    candidates: Mutex<Vec<PathBuf>>,
    /// Whether to ask fontconfig (once, the first time the candidates are not enough).
    ask_fontconfig: std::sync::atomic::AtomicBool,
    /// Faces loaded from `candidates`, in the order they were needed.
    system: Mutex<Vec<&'static PrintFont>>,
    /// Files already tried (so a file that is missing or unreadable is not read again).
    tried: Mutex<Vec<PathBuf>>,
}

impl std::fmt::Debug for FontBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontBook").field("candidates", &self.candidates).finish_non_exhaustive()
    }
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

impl FontBook {
    /// The process-wide font book: bundled font first, then [`SYSTEM_CJK_FONT_CANDIDATES`], then fontconfig.
    pub fn global() -> &'static FontBook {
        static BOOK: OnceLock<FontBook> = OnceLock::new();
        BOOK.get_or_init(|| {
            FontBook::with_candidates(SYSTEM_CJK_FONT_CANDIDATES.iter().map(PathBuf::from).collect(), true)
        })
    }

    /// A font book that falls back only to `candidates` (fontconfig is asked too when `ask_fontconfig`). Tests use
    /// it to check what happens on a machine without CJK fonts. Its fonts live as long as the process.
    pub fn with_candidates(candidates: Vec<PathBuf>, ask_fontconfig: bool) -> FontBook {
        static BUNDLED: OnceLock<&'static PrintFont> = OnceLock::new();
        let bundled = BUNDLED.get_or_init(|| {
            leak(
                PrintFont::load(BUNDLED_CJK_FONT, 0, "bundled Noto Sans SC (GB2312)".into())
                    .unwrap_or_else(|| unreachable!("the bundled font is checked by the tests")),
            )
        });
        FontBook {
            bundled,
            candidates: Mutex::new(candidates),
            ask_fontconfig: std::sync::atomic::AtomicBool::new(ask_fontconfig),
            system: Mutex::new(Vec::new()),
            tried: Mutex::new(Vec::new()),
        }
    }

    pub fn bundled(&self) -> &'static PrintFont {
        self.bundled
    }

    /// The font to draw `text` in: the bundled one when it has every character, else the first system CJK font that
    /// does.
    pub fn font_for(&self, text: &str) -> Result<&'static PrintFont, PrintError> {
        let missing = self.bundled.missing_chars(text);
        if missing.is_empty() {
            return Ok(self.bundled);
        }
        let mut system = self.system.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(font) = system.iter().find(|f| f.missing_chars(text).is_empty()) {
            return Ok(font);
        }
        let mut tried = self.tried.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let candidates = self.candidates.lock().unwrap_or_else(|e| e.into_inner()).clone();
            for path in candidates {
                if tried.contains(&path) {
                    continue;
                }
                tried.push(path.clone());
                let mut found = None;
                for face in load_faces(&path) {
                    let face: &'static PrintFont = leak(face);
                    system.push(face);
                    if found.is_none() && face.missing_chars(text).is_empty() {
                        found = Some(face);
                    }
                }
                if let Some(font) = found {
                    tracing::info!(font = %font.source, "using a system font for characters the bundled font lacks");
                    return Ok(font);
                }
            }
            // The usual places had nothing: ask fontconfig once, then give up.
            if !self.ask_fontconfig.swap(false, std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            self.candidates.lock().unwrap_or_else(|e| e.into_inner()).extend(fontconfig_cjk_files());
        }
        Err(PrintError::MissingGlyphs { text: text.to_owned(), chars: missing.into_iter().collect() })
    }

    /// Lays `text` out in the font that can draw it, at `size_mm`.
    pub fn shape(&self, text: &str, size_mm: f32) -> Result<Shaped, PrintError> {
        let font = self.font_for(text)?;
        let font_ref = font.font_ref();
        let charmap = font_ref.charmap();
        let metrics = font_ref.glyph_metrics(Size::unscaled(), LocationRef::default());
        let upem = font.units_per_em();
        let glyphs = text
            .char_indices()
            .filter(|(_, c)| !c.is_control())
            .map(|(i, c)| {
                let gid = charmap.map(c).or_else(|| charmap.map(' ')).unwrap_or_default();
                let advance = metrics.advance_width(gid).unwrap_or(upem / 2.0) / upem;
                (gid.to_u32(), advance, i..i + c.len_utf8())
            })
            .collect();
        Ok(Shaped { font, text: text.to_owned(), size_mm, glyphs })
    }
}

/// Every face of a font file (a .ttc holds several), Simplified Chinese faces first.
fn load_faces(path: &Path) -> Vec<PrintFont> {
    let Ok(bytes) = std::fs::read(path) else { return Vec::new() };
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    let count = match FileRef::new(bytes) {
        Ok(FileRef::Collection(c)) => c.len(),
        Ok(FileRef::Font(_)) => 1,
        Err(_) => return Vec::new(),
    };
    let mut faces: Vec<PrintFont> =
        (0..count).filter_map(|i| PrintFont::load(bytes, i, format!("{} #{i}", path.display()))).collect();
    faces.sort_by_key(|f| {
        let name = f.family_name();
        !(name.contains(" SC") || name.contains("GB") || name.contains("YaHei") || name.contains("PingFang"))
    });
    faces
}

/// CJK font files fontconfig knows about (Linux, BSD; nothing elsewhere or without fc-list).
fn fontconfig_cjk_files() -> Vec<PathBuf> {
    let output = std::process::Command::new("fc-list").args([":lang=zh-cn", "file"]).output();
    let Ok(output) = output else { return Vec::new() };
    let mut files: Vec<PathBuf> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(':').split(':').next().map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    files.sort();
    files.dedup();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_font_draws_chinese_and_latin() {
        let book = FontBook::with_candidates(Vec::new(), false);
        let run = book.shape("演示门店 Demo Store 扫码付款", 5.0).unwrap();
        assert!(std::ptr::eq(run.font, book.bundled()));
        assert_eq!(run.glyphs.len(), "演示门店 Demo Store 扫码付款".chars().count());
        assert!(run.glyphs.iter().filter(|g| g.2.len() == 3).all(|g| g.0 != 0), "every hanzi has a glyph");
        // CJK ideographs are one em wide.
        assert!((run.glyphs[0].1 - 1.0).abs() < 0.01);
        assert!(run.width() > 50.0 && run.width() < 120.0);
    }

    #[test]
    fn a_name_outside_gb2312_without_a_system_font_is_a_clear_error() {
        let book = FontBook::with_candidates(vec![PathBuf::from("/nonexistent/font.ttc")], false);
        // 喆 and 昇 are not in GB2312.
        let err = book.font_for("喆昇咖啡").unwrap_err();
        match &err {
            PrintError::MissingGlyphs { chars, .. } => assert_eq!(chars, "喆昇"),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("喆昇"), "{err}");
    }

    #[test]
    fn a_name_outside_gb2312_falls_back_to_a_system_cjk_font() {
        let book = FontBook::global();
        match book.font_for("喆昇咖啡") {
            Ok(font) => {
                assert!(!std::ptr::eq(font, book.bundled()));
                assert!(font.missing_chars("喆昇咖啡 Cafe").is_empty());
            }
            // A machine without any CJK font: the error must say which characters.
            Err(PrintError::MissingGlyphs { chars, .. }) => {
                eprintln!("no system CJK font here; fallback not exercised");
                assert_eq!(chars, "喆昇");
            }
            Err(e) => panic!("{e}"),
        }
    }
}
