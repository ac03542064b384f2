//! Fonts for printed stands: the bundled Noto Sans SC (GB2312 subset) first, a system CJK font for names it cannot
//! draw, and a clear error when no font on the machine can.
//!
//! Text is laid out here (one glyph per character, advances from `hmtx`): store names are short single lines of
//! Chinese and Latin, which need no shaping beyond that. The same glyph runs feed both the PDF (pdf.rs embeds a
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
    units_per_em: f32,
}

impl PrintFont {
    fn load(bytes: &'static [u8], index: u32, source: String) -> Option<PrintFont> {
        let font = FontRef::from_index(bytes, index).ok()?;
        let units_per_em = f32::from(font.metrics(Size::unscaled(), LocationRef::default()).units_per_em);
        Some(PrintFont { bytes, index, source, units_per_em })
    }

    pub(crate) fn font_ref(&self) -> FontRef<'static> {
        // Checked when the font was loaded.
        FontRef::from_index(self.bytes, self.index).unwrap_or_else(|_| unreachable!("font parsed at load"))
    }

    /// The font file's bytes and the face's index in it (for embedding a subset).
    pub(crate) fn data(&self) -> (&'static [u8], u32) {
        (self.bytes, self.index)
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

/// One laid-out character: the font that draws it, its glyph, its advance in em and its byte range in the text.
#[derive(Debug, Clone)]
pub struct Glyph {
    pub font: &'static PrintFont,
    pub id: u32,
    pub advance: f32,
    pub range: std::ops::Range<usize>,
}

/// A line of text laid out character by character, each character in the first font that has it (the bundled
/// font first, then system fonts for just the characters it lacks).
#[derive(Debug, Clone)]
pub struct Shaped {
    pub text: String,
    /// Font size in millimetres (the em square).
    pub size_mm: f32,
    pub glyphs: Vec<Glyph>,
}

impl Shaped {
    /// Width in millimetres.
    pub fn width(&self) -> f32 {
        self.glyphs.iter().map(|g| g.advance).sum::<f32>() * self.size_mm
    }

    pub fn with_size(&self, size_mm: f32) -> Shaped {
        Shaped { size_mm, ..self.clone() }
    }

    /// Consecutive glyphs drawn from one font, in order.
    pub fn runs(&self) -> impl Iterator<Item = &[Glyph]> {
        self.glyphs.chunk_by(|a, b| std::ptr::eq(a.font, b.font))
    }

    /// The fonts this line uses, in order of first use.
    pub fn fonts(&self) -> Vec<&'static PrintFont> {
        let mut fonts: Vec<&'static PrintFont> = Vec::new();
        for g in &self.glyphs {
            if !fonts.iter().any(|f| std::ptr::eq(*f, g.font)) {
                fonts.push(g.font);
            }
        }
        fonts
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

/// The process-wide font book ([`FontBook::global`], or the one given to [`FontBook::install_global`]).
static GLOBAL_BOOK: OnceLock<FontBook> = OnceLock::new();

/// Extra font files to try before the usual places, separated like `PATH` (for a font the merchant installed
/// somewhere unusual).
pub const FONT_ENV: &str = "TILLDESK_CJK_FONT";

impl FontBook {
    /// The process-wide font book: bundled font first, then the files in `TILLDESK_CJK_FONT`, then
    /// [`SYSTEM_CJK_FONT_CANDIDATES`], then fontconfig.
    pub fn global() -> &'static FontBook {
        GLOBAL_BOOK.get_or_init(|| {
            let mut candidates: Vec<PathBuf> =
                std::env::var_os(FONT_ENV).map(|v| std::env::split_paths(&v).collect()).unwrap_or_default();
            candidates.extend(SYSTEM_CJK_FONT_CANDIDATES.iter().map(PathBuf::from));
            FontBook::with_candidates(candidates, true)
        })
    }

    /// A font book that falls back only to `candidates` (fontconfig is asked too when `ask_fontconfig`). Tests use
    /// it to check what happens on a machine with given fonts, or none. Its fonts live as long as the process.
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

    /// Makes `book` the process-wide font book, if nothing has used [`FontBook::global`] yet (else gives it back).
    /// Tests use it to fix the fonts a whole window sees, whatever fonts the machine has.
    pub fn install_global(book: FontBook) -> Result<(), FontBook> {
        GLOBAL_BOOK.set(book)
    }

    /// The characters of `text` no font in this book can draw, each once, in order (empty when it prints whole).
    /// The first call may read font files: keep it off the UI thread.
    pub fn unprintable_chars(&self, text: &str) -> Vec<char> {
        match self.shape(text.trim(), 1.0) {
            Err(PrintError::MissingGlyphs { chars, .. }) => chars.chars().collect(),
            _ => Vec::new(),
        }
    }

    pub fn bundled(&self) -> &'static PrintFont {
        self.bundled
    }

    /// The first system font that has `c`, loading candidate files (and asking fontconfig once) until one does.
    fn system_font_for(&self, c: char) -> Option<&'static PrintFont> {
        let has = |f: &PrintFont| f.font_ref().charmap().map(c).is_some();
        let mut system = self.system.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(font) = system.iter().find(|f| has(f)) {
            return Some(font);
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
                    if found.is_none() && has(face) {
                        found = Some(face);
                    }
                }
                if let Some(font) = found {
                    tracing::info!(font = %font.source, "using a system font for characters the bundled font lacks");
                    return Some(font);
                }
            }
            // The usual places had nothing: ask fontconfig once, then give up.
            if !self.ask_fontconfig.swap(false, std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            self.candidates.lock().unwrap_or_else(|e| e.into_inner()).extend(fontconfig_cjk_files());
        }
    }

    /// Lays `text` out at `size_mm`, each character in the first font that has it: the bundled font, else a system
    /// font for just that character. Whitespace is drawn in the bundled font; control characters are dropped. A
    /// character no font on the machine has is an error naming it.
    pub fn shape(&self, text: &str, size_mm: f32) -> Result<Shaped, PrintError> {
        let bundled = self.bundled;
        let bundled_ref = bundled.font_ref();
        let bundled_map = bundled_ref.charmap();
        let bundled_metrics = bundled_ref.glyph_metrics(Size::unscaled(), LocationRef::default());
        let mut missing = String::new();
        let mut glyphs = Vec::with_capacity(text.len());
        for (i, c) in text.char_indices().filter(|(_, c)| !c.is_control()) {
            let range = i..i + c.len_utf8();
            let (font, gid) = match bundled_map.map(c) {
                Some(gid) => (bundled, gid),
                None if c.is_whitespace() => (bundled, bundled_map.map(' ').unwrap_or_default()),
                None => match self.system_font_for(c) {
                    Some(font) => (font, font.font_ref().charmap().map(c).unwrap_or_default()),
                    None => {
                        if !missing.contains(c) {
                            missing.push(c);
                        }
                        continue;
                    }
                },
            };
            let upem = font.units_per_em();
            let advance = if std::ptr::eq(font, bundled) {
                bundled_metrics.advance_width(gid)
            } else {
                font.font_ref().glyph_metrics(Size::unscaled(), LocationRef::default()).advance_width(gid)
            };
            glyphs.push(Glyph { font, id: gid.to_u32(), advance: advance.unwrap_or(upem / 2.0) / upem, range });
        }
        if !missing.is_empty() {
            return Err(PrintError::MissingGlyphs { text: text.to_owned(), chars: missing });
        }
        Ok(Shaped { text: text.to_owned(), size_mm, glyphs })
    }
}

/// The characters of a name (printed on every stand) that no font on this machine can draw, each once, in order:
/// the same font book printing uses (bundled font, `TILLDESK_CJK_FONT`, the system's CJK fonts). Forms that save a
/// store or merchant name refuse such a name, naming the characters, instead of failing every print later. The
/// first call may read font files: keep it off the UI thread.
pub fn unprintable_chars(text: &str) -> Vec<char> {
    FontBook::global().unprintable_chars(text)
}

/// Whether the bundled font alone draws all of `text` (whitespace and control characters aside): a lookup in the font
/// compiled into the program, no file read, so a form may ask it on the UI thread and leave only the other names to
/// [`unprintable_chars`] on a thread of its own.
pub fn bundled_font_draws(text: &str) -> bool {
    let Ok(font) = FontRef::new(BUNDLED_CJK_FONT) else { return false };
    let charmap = font.charmap();
    text.chars().all(|c| c.is_whitespace() || c.is_control() || charmap.map(c).is_some())
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

    /// A subset of Droid Sans Fallback (tests/fixtures/fonts): 喆昇咖啡堃 and nothing else, no Latin letters, no
    /// space, as the font Debian installs with poppler-utils, imagemagick and xvfb.
    fn droid_subset() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fonts/DroidSansFallback-subset.ttf"))
    }

    #[test]
    fn the_bundled_font_draws_chinese_and_latin() {
        let book = FontBook::with_candidates(Vec::new(), false);
        let run = book.shape("演示门店 Demo Store 扫码付款", 5.0).unwrap();
        assert!(run.glyphs.iter().all(|g| std::ptr::eq(g.font, book.bundled())));
        assert_eq!(run.runs().count(), 1);
        assert_eq!(run.glyphs.len(), "演示门店 Demo Store 扫码付款".chars().count());
        assert!(run.glyphs.iter().all(|g| g.id != 0), "every character has a glyph");
        // CJK ideographs are one em wide.
        assert!((run.glyphs[0].advance - 1.0).abs() < 0.01);
        assert!(run.width() > 50.0 && run.width() < 120.0);
    }

    #[test]
    fn a_name_outside_gb2312_without_a_system_font_is_a_clear_error() {
        let book = FontBook::with_candidates(vec![PathBuf::from("/nonexistent/font.ttc")], false);
        // 喆 and 昇 are not in GB2312.
        let err = book.shape("喆昇咖啡 Cafe 喆", 3.0).unwrap_err();
        match &err {
            PrintError::MissingGlyphs { chars, .. } => assert_eq!(chars, "喆昇"),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("喆昇"), "{err}");
    }

    #[test]
    fn fallback_is_per_character_and_latin_stays_in_the_bundled_font() {
        // The candidate has 喆 and 昇 but no Latin letters: only those two characters come from it.
        let book = FontBook::with_candidates(vec![PathBuf::from("/nonexistent/font.ttc"), droid_subset()], false);
        let text = "喆昇咖啡 Cafe";
        let run = book.shape(text, 4.0).unwrap();
        assert_eq!(run.glyphs.len(), text.chars().count());
        assert!(run.glyphs.iter().all(|g| g.id != 0), "no character is drawn as .notdef");
        let from: Vec<(&str, bool)> =
            run.glyphs.iter().map(|g| (&text[g.range.clone()], std::ptr::eq(g.font, book.bundled()))).collect();
        assert_eq!(
            from,
            [
                ("喆", false),
                ("昇", false),
                ("咖", true),
                ("啡", true),
                (" ", true),
                ("C", true),
                ("a", true),
                ("f", true),
                ("e", true)
            ]
        );
        assert_eq!(run.runs().map(<[Glyph]>::len).collect::<Vec<_>>(), [2, 7]);
        assert_eq!(run.fonts().len(), 2);
        assert!(run.fonts()[0].source.ends_with("DroidSansFallback-subset.ttf #0"), "{}", run.fonts()[0].source);
        // Latin letters have their own (narrower than an em) advances, as in the bundled font.
        assert!(run.glyphs[5].advance < 0.9 && run.glyphs[5].advance > 0.3);
    }

    #[test]
    fn unprintable_characters_are_named_each_once_in_order() {
        let book = FontBook::with_candidates(vec![PathBuf::from("/nonexistent/font.ttc")], false);
        // 𠀀 and 𪚥 (CJK extension B) are in no font here; 店 is in the bundled one.
        assert_eq!(book.unprintable_chars("𠀀𪚥店𠀀"), ['𠀀', '𪚥']);
        assert_eq!(book.unprintable_chars(" 幸运面馆 Lucky "), Vec::<char>::new());
        assert_eq!(book.unprintable_chars(""), Vec::<char>::new());
        assert!(bundled_font_draws(" 幸运面馆 Lucky Noodles（静安店）") && !bundled_font_draws("𠀀𪚥店"));
        assert!(!bundled_font_draws("喆"), "outside GB2312: a system font may have it, so the full check decides");
        let with_droid = FontBook::with_candidates(vec![droid_subset()], false);
        assert_eq!(with_droid.unprintable_chars("喆昇咖啡"), Vec::<char>::new());
    }

    #[test]
    fn the_global_book_either_draws_every_character_or_names_the_missing_ones() {
        // Whatever fonts this machine has: never a silent .notdef.
        match FontBook::global().shape("喆昇咖啡 Cafe", 4.0) {
            Ok(run) => {
                assert!(run.glyphs.iter().all(|g| g.id != 0));
                assert!(
                    run.glyphs.iter().skip(2).all(|g| std::ptr::eq(g.font, FontBook::global().bundled())),
                    "only 喆昇 come from a system font"
                );
            }
            Err(PrintError::MissingGlyphs { chars, .. }) => assert_eq!(chars, "喆昇"),
            Err(e) => panic!("{e}"),
        }
    }
}
