//! Printing store codes: A6 table tents, 60 × 60 mm stickers and A4 posters, to PDF (vector QR, embedded subset of
//! a CJK font) and to PNG (300 dpi or more), one store or a whole batch in one PDF, and to the system's printer.
//!
//! The print core takes plain data ([`StandData`]: names, payload, badges), so it does not care where a store's
//! code came from; [`source`] builds that data from the database rows. The layouts live in [`layout`] and are drawn
//! onto either back end (`pdf`, `raster`), so the PDF and the PNG show the same thing.
//!
//! Error correction and module size follow [`readability`]: every template's code keeps modules a phone reads at the
//! template's viewing distance; without a logo at M (L only when M would be too dense), with one at H or Q (twice
//! what the logo covers, at least); a logo that would make the code too dense is refused for that template, and a
//! code too long for a template refuses the template, before anything is written. Every code has a quiet zone of 4
//! modules.

pub mod fonts;
pub mod layout;
mod pdf;
pub mod printer;
mod raster;
pub mod readability;
pub mod source;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::mpm::{MpmError, QrMatrix};
pub use fonts::FontBook;

/// The instruction line on every stand.
pub const INSTRUCTION_ZH: &str = "扫码付款";
pub const INSTRUCTION_EN: &str = "Scan to pay";
/// PNG exports are at least this sharp (print shops ask for 300 dpi).
pub const MIN_EXPORT_DPI: u32 = 300;
/// Previews and exports are at most this sharp (an A4 page at 1200 dpi is already 140 megapixels).
pub const MAX_DPI: u32 = 1200;
/// Logos larger than this (in pixels, either side) are scaled down before use: they print at a few centimetres.
pub const MAX_LOGO_PX: u32 = 1024;

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("unknown template {given:?}; expected one of: tent, sticker, poster")]
    UnknownTemplate { given: String },
    #[error(
        "no font on this computer can print {chars:?} in {text:?}: install a Chinese font (Noto Sans CJK, Microsoft \
         YaHei, PingFang) or change the name"
    )]
    MissingGlyphs { text: String, chars: String },
    #[error("the code of store {store_code} cannot be made: {source}")]
    Qr { store_code: String, source: MpmError },
    #[error("cannot use {path} as a logo: {detail}")]
    Logo { path: PathBuf, detail: String },
    #[error("{dpi} dpi is not a usable resolution (PNG exports take {MIN_EXPORT_DPI}–{MAX_DPI} dpi)")]
    Resolution { dpi: u32 },
    #[error("cannot encode the PNG: {detail}")]
    Png { detail: String },
    #[error("cannot write the PDF: {detail}")]
    Pdf { detail: String },
    #[error("nothing to print: no store is selected")]
    NoStores,
    #[error("no template is selected")]
    NoTemplate,
    #[error("cancelled; nothing was written")]
    Cancelled,
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot print: {detail}. Save the PDF and print it from a PDF viewer instead.")]
    NoPrintSystem { detail: String },
    #[error("no printer is available: {detail}. Add a printer (or set a default one), or save the PDF instead.")]
    NoPrinter { detail: String },
    #[error("the printer refused the job: {detail}")]
    PrintFailed { detail: String },
    #[error("cannot read the stores: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("the code of store {store_code} cannot be made: {detail}")]
    Source { store_code: String, detail: String },
    /// The code would not be readable by a phone on that template ([`readability`]): nothing was written.
    #[error("store {store_code}: {problem}")]
    Unreadable { store_code: String, problem: readability::ReadabilityError },
}

/// The three stand layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Template {
    /// A6 (105 × 148 mm) folded across the middle into a table tent: the code on both faces.
    Tent,
    /// 60 × 60 mm sticker for tables and counters.
    Sticker,
    /// A4 (210 × 297 mm) poster for the door or the wall.
    Poster,
}

impl Template {
    pub const ALL: [Template; 3] = [Template::Tent, Template::Sticker, Template::Poster];

    /// Page size in millimetres (width, height).
    pub fn size_mm(self) -> (f32, f32) {
        match self {
            Template::Tent => (105.0, 148.0),
            Template::Sticker => (60.0, 60.0),
            Template::Poster => (210.0, 297.0),
        }
    }

    /// The name used on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Template::Tent => "tent",
            Template::Sticker => "sticker",
            Template::Poster => "poster",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Template::Tent => "A6 桌面台卡",
            Template::Sticker => "60×60 mm 贴纸",
            Template::Poster => "A4 海报",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Template::Tent => "A6 table tent",
            Template::Sticker => "60×60 mm sticker",
            Template::Poster => "A4 poster",
        }
    }

    /// How many copies of the code one page carries (the tent has one per face).
    pub fn codes_per_page(self) -> usize {
        match self {
            Template::Tent => 2,
            Template::Sticker | Template::Poster => 1,
        }
    }

    pub fn parse(text: &str) -> Result<Template, PrintError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "tent" | "a6" | "table-tent" => Ok(Template::Tent),
            "sticker" => Ok(Template::Sticker),
            "poster" | "a4" => Ok(Template::Poster),
            _ => Err(PrintError::UnknownTemplate { given: text.to_owned() }),
        }
    }

    /// A comma-separated list, like `tent,sticker`.
    pub fn parse_list(text: &str) -> Result<Vec<Template>, PrintError> {
        let mut list = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let t = Template::parse(part)?;
            if !list.contains(&t) {
                list.push(t);
            }
        }
        if list.is_empty() {
            return Err(PrintError::NoTemplate);
        }
        Ok(list)
    }
}

/// Everything printed on one store's stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandData {
    /// The merchant's own store number (shown small, and used in file names).
    pub store_code: String,
    /// The store's display name in Chinese (may be empty).
    pub name_zh: String,
    /// The store's display name in Latin letters (may be empty).
    pub name_latin: String,
    /// The store code's payload, exactly as the QR code must carry it.
    pub payload: String,
    /// The wallets/acquirers the store accepts, as short labels ("支付宝 Alipay").
    pub badges: Vec<String>,
}

/// A logo for the centre of the code: a PNG or JPEG, decoded once.
#[derive(Debug, Clone)]
pub struct Logo {
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
    /// Straight RGBA, row by row.
    pub rgba: Arc<Vec<u8>>,
}

impl Logo {
    /// Reads a PNG or JPEG file.
    pub fn load(path: &Path) -> Result<Logo, PrintError> {
        let bytes =
            std::fs::read(path).map_err(|e| PrintError::Logo { path: path.to_owned(), detail: e.to_string() })?;
        Logo::from_bytes(&bytes, path)
    }

    /// Decodes PNG or JPEG bytes; `path` is only for messages.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Logo, PrintError> {
        let err = |detail: String| PrintError::Logo { path: path.to_owned(), detail };
        let format = image::guess_format(bytes).map_err(|_| err("it is not a PNG or JPEG image".into()))?;
        if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
            return Err(err(format!("it is a {format:?} image; use a PNG or JPEG")));
        }
        let decoded = image::load_from_memory_with_format(bytes, format).map_err(|e| err(e.to_string()))?;
        let decoded = if decoded.width() > MAX_LOGO_PX || decoded.height() > MAX_LOGO_PX {
            decoded.resize(MAX_LOGO_PX, MAX_LOGO_PX, image::imageops::FilterType::Triangle)
        } else {
            decoded
        };
        let rgba = decoded.to_rgba8();
        if rgba.width() == 0 || rgba.height() == 0 {
            return Err(err("the image is empty".into()));
        }
        Ok(Logo { path: path.to_owned(), width: rgba.width(), height: rgba.height(), rgba: Arc::new(rgba.into_raw()) })
    }
}

/// The symbol printed on `template` for `stand`: the error correction and version [`readability::plan`] chooses,
/// or why it would not be readable there.
fn matrix_for(stand: &StandData, template: Template, logo: Option<&Logo>) -> Result<QrMatrix, PrintError> {
    readability::plan_for(stand, template, logo.is_some()).map(|p| p.matrix)
}

/// One store's page as straight RGBA pixels.
#[derive(Debug, Clone)]
pub struct RgbaPage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Renders one page at `dpi` (any resolution from 20 to [`MAX_DPI`]; previews use a low one).
pub fn render_rgba(
    stand: &StandData,
    template: Template,
    logo: Option<&Logo>,
    dpi: u32,
) -> Result<RgbaPage, PrintError> {
    if !(20..=MAX_DPI).contains(&dpi) {
        return Err(PrintError::Resolution { dpi });
    }
    let qr = matrix_for(stand, template, logo)?;
    let (w, h) = template.size_mm();
    let mut canvas = raster::RasterCanvas::new(w, h, dpi, logo)?;
    layout::draw(&mut canvas, FontBook::global(), template, stand, &qr, logo)?;
    let (width, height, pixels) = canvas.into_rgba();
    Ok(RgbaPage { width, height, pixels })
}

/// Whether `dpi` is a resolution PNG exports take ([`MIN_EXPORT_DPI`] to the maximum): callers check it before
/// they write anything.
pub fn check_export_dpi(dpi: u32) -> Result<(), PrintError> {
    if (MIN_EXPORT_DPI..=MAX_DPI).contains(&dpi) { Ok(()) } else { Err(PrintError::Resolution { dpi }) }
}

/// One store's page as a PNG at `dpi` (at least [`MIN_EXPORT_DPI`]), with the resolution recorded in the file.
pub fn render_png(stand: &StandData, template: Template, logo: Option<&Logo>, dpi: u32) -> Result<Vec<u8>, PrintError> {
    check_export_dpi(dpi)?;
    let page = render_rgba(stand, template, logo, dpi)?;
    raster::encode_png(page.width, page.height, &page.pixels, dpi)
}

/// One PDF with a page per store per template (stores in order; for each store, the templates in order), in
/// memory. `progress(done, total)` is called after every page; setting `cancel` stops at the next page with
/// [`PrintError::Cancelled`]. Large batches go to a file with [`save_pdf`], which does not hold them in memory.
pub fn render_pdf(
    stands: &[StandData],
    templates: &[Template],
    logo: Option<&Logo>,
    progress: &mut dyn FnMut(usize, usize),
    cancel: &AtomicBool,
) -> Result<Vec<u8>, PrintError> {
    write_pdf(Vec::new(), Path::new("(memory)"), stands, templates, logo, progress, cancel)
}

/// Writes the PDF of [`render_pdf`] to `path` page by page as the pages are made (memory stays flat however many
/// pages), through a temporary file next to it that is renamed when the document is complete: a failure, a full
/// disk or a cancel leaves no file behind. Returns the file's size in bytes.
pub fn save_pdf(
    path: &Path,
    stands: &[StandData],
    templates: &[Template],
    logo: Option<&Logo>,
    progress: &mut dyn FnMut(usize, usize),
    cancel: &AtomicBool,
) -> Result<u64, PrintError> {
    check_batch(stands, templates)?;
    let write_err = |source| PrintError::Write { path: path.to_owned(), source };
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = path.with_file_name(format!(".{file_name}.part"));
    let file = std::fs::File::create(&tmp).map_err(write_err)?;
    let written =
        write_pdf(std::io::BufWriter::with_capacity(256 * 1024, file), path, stands, templates, logo, progress, cancel)
            .and_then(|out| out.into_inner().map_err(|e| write_err(e.into_error())))
            .and_then(|file| {
                file.sync_all().map_err(write_err)?;
                let len = file.metadata().map_err(write_err)?.len();
                std::fs::rename(&tmp, path).map_err(write_err)?;
                Ok(len)
            });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn check_batch(stands: &[StandData], templates: &[Template]) -> Result<(), PrintError> {
    if stands.is_empty() {
        return Err(PrintError::NoStores);
    }
    if templates.is_empty() {
        return Err(PrintError::NoTemplate);
    }
    Ok(())
}

/// The streaming writer behind [`render_pdf`] and [`save_pdf`]: pages go to `out` as they are made; `target` names
/// it in messages.
fn write_pdf<W: std::io::Write>(
    out: W,
    target: &Path,
    stands: &[StandData],
    templates: &[Template],
    logo: Option<&Logo>,
    progress: &mut dyn FnMut(usize, usize),
    cancel: &AtomicBool,
) -> Result<W, PrintError> {
    check_batch(stands, templates)?;
    let fonts = FontBook::global();
    let total = stands.len() * templates.len();
    let mut doc = pdf::PdfDoc::new(out, target, logo).map_err(|e| e.for_target(target))?;
    let mut done = 0;
    for stand in stands {
        for &template in templates {
            if cancel.load(Ordering::Relaxed) {
                return Err(PrintError::Cancelled);
            }
            let qr = matrix_for(stand, template, logo)?;
            let (w, h) = template.size_mm();
            doc.page(w, h, |canvas| layout::draw(canvas, fonts, template, stand, &qr, logo))?;
            done += 1;
            progress(done, total);
        }
    }
    let title = match stands {
        [one] => format!("TillDesk store code {}", one.store_code),
        many => format!("TillDesk store codes ({} stores)", many.len()),
    };
    doc.finish(&title).map_err(|e| e.for_target(target))
}

/// One page of `w` × `h` mm drawn by `draw`, as a PDF in memory (the receipts draw through this).
pub(crate) fn one_page_pdf(
    w: f32,
    h: f32,
    title: &str,
    draw: impl FnOnce(&mut dyn layout::Canvas) -> Result<(), PrintError>,
) -> Result<Vec<u8>, PrintError> {
    let target = Path::new("(memory)");
    let mut doc = pdf::PdfDoc::new(Vec::new(), target, None).map_err(|e| e.for_target(target))?;
    doc.page(w, h, |canvas| draw(canvas))?;
    doc.finish(title).map_err(|e| e.for_target(target))
}

/// Makes the folder `path` is to be written in, if need be.
pub fn make_folder_for(path: &Path) -> Result<(), PrintError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| PrintError::Write { path: dir.to_owned(), source })?;
    }
    Ok(())
}

/// Writes `bytes` to `path` as [`write_atomically`] does, making its folder first if need be (a store code saved as
/// a PNG where the person typed).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PrintError> {
    make_folder_for(path)?;
    write_atomically(path, bytes)
}

/// Writes `bytes` to `path` through a temporary file next to it, so a failure or a crash never leaves half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PrintError> {
    let write_err = |source| PrintError::Write { path: path.to_owned(), source };
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = path.with_file_name(format!(".{file_name}.part"));
    std::fs::write(&tmp, bytes).map_err(write_err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        write_err(e)
    })
}

/// The PNG file name for a store and template: `S001-tent.png` (characters unsafe in file names become `_`).
pub fn png_file_name(stand: &StandData, template: Template) -> String {
    let code: String = stand
        .store_code
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    format!("{code}-{}.png", template.name())
}

/// Writes one PNG per store per template into `dir` (created if needed); returns the files written.
pub fn export_pngs(
    stands: &[StandData],
    templates: &[Template],
    logo: Option<&Logo>,
    dir: &Path,
    dpi: u32,
    progress: &mut dyn FnMut(usize, usize),
    cancel: &AtomicBool,
) -> Result<Vec<PathBuf>, PrintError> {
    if stands.is_empty() {
        return Err(PrintError::NoStores);
    }
    // Every code readable, or nothing written (not even the folder).
    if let Some(refused) = readability::refusals(stands, templates, logo.is_some()).into_iter().next() {
        return Err(refused);
    }
    std::fs::create_dir_all(dir).map_err(|source| PrintError::Write { path: dir.to_owned(), source })?;
    let total = stands.len() * templates.len();
    let mut written = Vec::with_capacity(total);
    for stand in stands {
        for &template in templates {
            if cancel.load(Ordering::Relaxed) {
                return Err(PrintError::Cancelled);
            }
            let png = render_png(stand, template, logo, dpi)?;
            let path = dir.join(png_file_name(stand, template));
            write_atomically(&path, &png)?;
            written.push(path);
            progress(written.len(), total);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_from_the_command_line() {
        assert_eq!(Template::parse_list("tent,sticker,tent").unwrap(), [Template::Tent, Template::Sticker]);
        let err = Template::parse("flyer").unwrap_err();
        assert_eq!(err.to_string(), "unknown template \"flyer\"; expected one of: tent, sticker, poster");
        assert!(matches!(Template::parse_list(" , "), Err(PrintError::NoTemplate)));
    }

    #[test]
    fn a_logo_raises_error_correction_to_h_when_the_modules_stay_big_enough() {
        let stand = StandData {
            store_code: "S1".into(),
            name_zh: String::new(),
            name_latin: String::new(),
            payload: "HTTPS://QR.SAMPLEDOMAIN.COM/MPM/3/R1BMRA".into(),
            badges: vec![],
        };
        use crate::mpm::{ErrorCorrection, qr_matrix};
        for template in Template::ALL {
            let high = qr_matrix(&stand.payload, ErrorCorrection::High).unwrap();
            let medium = qr_matrix(&stand.payload, ErrorCorrection::Medium).unwrap();
            assert_eq!(matrix_for(&stand, template, None).unwrap(), medium);
            let logo = Logo { path: "l.png".into(), width: 1, height: 1, rgba: Arc::new(vec![0; 4]) };
            assert_eq!(matrix_for(&stand, template, Some(&logo)).unwrap(), high);
        }
    }

    #[test]
    fn a_png_folder_is_not_even_made_when_a_code_would_be_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let stand = StandData {
            store_code: "S9".into(),
            name_zh: String::new(),
            name_latin: String::new(),
            payload: "A".repeat(900),
            badges: vec![],
        };
        let out = dir.path().join("png");
        let result = export_pngs(
            &[stand],
            &[Template::Poster, Template::Sticker],
            None,
            &out,
            300,
            &mut |_, _| {},
            &AtomicBool::new(false),
        );
        assert!(
            matches!(result, Err(PrintError::Unreadable { ref store_code, .. }) if store_code == "S9"),
            "{result:?}"
        );
        assert!(!out.exists());
    }

    #[test]
    fn a_logo_must_be_png_or_jpeg() {
        let err = Logo::from_bytes(b"GIF89a....", Path::new("logo.gif")).unwrap_err();
        assert!(err.to_string().starts_with("cannot use logo.gif as a logo"), "{err}");
        let err = Logo::load(Path::new("/nonexistent/logo.png")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/logo.png"), "{err}");
    }

    #[test]
    fn png_exports_are_at_least_300_dpi() {
        let stand = StandData {
            store_code: "S1".into(),
            name_zh: "店".into(),
            name_latin: "Shop".into(),
            payload: "HELLO".into(),
            badges: vec![],
        };
        assert!(matches!(render_png(&stand, Template::Sticker, None, 150), Err(PrintError::Resolution { dpi: 150 })));
        assert_eq!(png_file_name(&StandData { store_code: "A/1 x".into(), ..stand }, Template::Tent), "A_1_x-tent.png");
    }

    #[test]
    fn nothing_is_written_when_cancelled() {
        let stand = StandData {
            store_code: "S1".into(),
            name_zh: "店".into(),
            name_latin: "Shop".into(),
            payload: "HELLO".into(),
            badges: vec![],
        };
        let cancel = AtomicBool::new(true);
        let result = render_pdf(&[stand], &[Template::Sticker], None, &mut |_, _| {}, &cancel);
        assert!(matches!(result, Err(PrintError::Cancelled)));
    }
}
