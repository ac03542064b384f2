//! PDF back end: a streaming writer on `pdf-writer`.
//!
//! Pages go to the output as they are made, so memory does not grow with the page count (3,000 pages take what one
//! takes); what pages share is written once and referenced:
//! - each font is one subset (`subsetter`) of just the glyphs the document uses, written at the end;
//! - the logo is one image (with its alpha as a soft mask), written before the first page;
//! - a store's QR symbol is one form XObject, placed on both faces of a tent and on every template of that store;
//! - artwork that is the same wherever it appears (badges, instruction lines, the fold line) becomes one form
//!   XObject the second time it is drawn, and every later page places that copy.
//!
//! QR modules are drawn as merged horizontal runs in module units (one rectangle per run), so there are no seams
//! between modules when a viewer or printer rasterises the symbol, and the numbers are short integers.
//!
//! Coordinates: every page starts with a transform to millimetres with y growing downward (the layout's own
//! units), so the content stream carries the layout's numbers rounded to 0.01 mm.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::ZlibEncoder;
use pdf_writer::types::{CidFontType, FontFlags, LineCapStyle, SystemInfo, UnicodeCmap};
use pdf_writer::writers::{Catalog, DocumentInfo};
use pdf_writer::{Chunk, Content, Filter, Finish, Name, Rect, Ref, Str, TextStr};
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider;
use skrifa::{FontRef, MetadataProvider, string::StringId};

use super::Logo;
use super::fonts::{PrintFont, Shaped};
use super::layout::{Canvas, PT_PER_MM, Rgb};
use crate::mpm::QrMatrix;

/// What can go wrong while writing: the output (a full disk) or a font that cannot be subset.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("cannot embed the font {font}: {detail}")]
    Font { font: String, detail: String },
}

/// Rounds to 0.01 (millimetres in page content): plenty for print, short in the file.
fn r(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

fn rgb(color: Rgb) -> (f32, f32, f32) {
    (f32::from(color.0) / 255.0, f32::from(color.1) / 255.0, f32::from(color.2) / 255.0)
}

fn deflate(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut z = ZlibEncoder::new(Vec::with_capacity(data.len() / 3 + 64), Compression::new(6));
    z.write_all(data)?;
    z.finish()
}

/// A chunk for one object, written compactly (no indentation or line per key).
fn new_chunk() -> Chunk {
    Chunk::with_settings(pdf_writer::Settings { pretty: false })
}

/// A writer that knows how many bytes it has written (object offsets for the cross-reference table).
struct Counted<W: Write> {
    inner: W,
    pos: u64,
}

impl<W: Write> Counted<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }
}

/// One font of the document: its glyphs renumbered in order of first use (the CIDs), their widths and text.
struct FontState {
    font: &'static PrintFont,
    type0: Ref,
    remapper: subsetter::GlyphRemapper,
    /// Advance of each CID in thousandths of an em.
    widths: Vec<f32>,
    /// The text each CID stands for (for copy, paste and search).
    text: Vec<Option<String>>,
}

impl FontState {
    fn cid(&mut self, gid: u32, text: &str) -> u16 {
        let cid = self.remapper.remap(u16::try_from(gid).unwrap_or(0));
        let i = usize::from(cid);
        if self.widths.len() <= i {
            self.widths.resize(i + 1, 0.0);
            self.text.resize(i + 1, None);
        }
        if self.text[i].is_none() && !text.is_empty() {
            self.text[i] = Some(text.to_owned());
        }
        cid
    }
}

/// A content stream being built, with the resources it names.
struct Draw {
    content: Content,
    fonts: BTreeSet<usize>,
    xobjects: BTreeSet<i32>,
}

impl Default for Draw {
    fn default() -> Self {
        Draw { content: Content::new(), fonts: BTreeSet::new(), xobjects: BTreeSet::new() }
    }
}

fn font_name(i: usize) -> String {
    format!("F{i}")
}

fn xobject_name(r: i32) -> String {
    format!("X{r}")
}

/// The document being written.
pub(super) struct PdfDoc<W: Write> {
    out: Counted<W>,
    /// Where it goes, for messages.
    target: PathBuf,
    /// Byte offset of every object, by object number − 1 (0 until written).
    offsets: Vec<u64>,
    pages_ref: Ref,
    pages: Vec<Ref>,
    fonts: Vec<FontState>,
    logo: Option<Ref>,
    /// Artwork kept as form XObjects, by key.
    forms: HashMap<String, Ref>,
    /// Artwork drawn once so far (drawn in place; it becomes a form if it comes again).
    seen: HashSet<String>,
    /// The last QR symbol and its form (a store's templates come one after another).
    last_qr: Option<(QrMatrix, Ref)>,
    /// The first error met inside a drawing call (those cannot return one); reported when the page ends.
    failed: Option<PdfError>,
}

impl<W: Write> PdfDoc<W> {
    /// Starts a document on `out` (writes the header), with the logo written once if there is one.
    pub(super) fn new(out: W, target: &Path, logo: Option<&Logo>) -> Result<PdfDoc<W>, PdfError> {
        let mut doc = PdfDoc {
            out: Counted { inner: out, pos: 0 },
            target: target.to_owned(),
            offsets: Vec::new(),
            pages_ref: Ref::new(1),
            pages: Vec::new(),
            fonts: Vec::new(),
            logo: None,
            forms: HashMap::new(),
            seen: HashSet::new(),
            last_qr: None,
            failed: None,
        };
        doc.pages_ref = doc.alloc();
        doc.out.put(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")?;
        if let Some(logo) = logo {
            doc.logo = Some(doc.write_logo(logo)?);
        }
        Ok(doc)
    }

    fn alloc(&mut self) -> Ref {
        self.offsets.push(0);
        Ref::new(self.offsets.len() as i32)
    }

    /// Writes the objects of `chunk`, which must hold exactly the objects `refs` in that order, one after the other.
    fn emit(&mut self, chunk: &Chunk) -> io::Result<()> {
        // A chunk holding one object starts with it, so its offset is where the chunk starts.
        let mut refs = chunk.refs();
        if let (Some(first), None) = (refs.next(), refs.next()) {
            let slot = usize::try_from(first.get() - 1).unwrap_or(usize::MAX);
            if let Some(offset) = self.offsets.get_mut(slot) {
                *offset = self.out.pos;
            }
        }
        self.out.put(chunk.as_bytes())
    }

    fn write_logo(&mut self, logo: &Logo) -> Result<Ref, PdfError> {
        let pixels = logo.rgba.chunks_exact(4);
        let rgb: Vec<u8> = pixels.clone().flat_map(|p| [p[0], p[1], p[2]]).collect();
        let alpha: Vec<u8> = pixels.map(|p| p[3]).collect();
        let width = i32::try_from(logo.width).unwrap_or(i32::MAX);
        let height = i32::try_from(logo.height).unwrap_or(i32::MAX);
        let smask = if alpha.iter().any(|a| *a != 255) {
            let id = self.alloc();
            let data = deflate(&alpha)?;
            let mut chunk = new_chunk();
            let mut image = chunk.image_xobject(id, &data);
            image.width(width).height(height).bits_per_component(8);
            image.filter(Filter::FlateDecode);
            image.color_space_name(Name(b"DeviceGray"));
            image.finish();
            self.emit(&chunk)?;
            Some(id)
        } else {
            None
        };
        let id = self.alloc();
        let data = deflate(&rgb)?;
        let mut chunk = new_chunk();
        let mut image = chunk.image_xobject(id, &data);
        image.width(width).height(height).bits_per_component(8);
        image.filter(Filter::FlateDecode);
        image.color_space_name(Name(b"DeviceRGB"));
        if let Some(mask) = smask {
            image.s_mask(mask);
        }
        image.finish();
        self.emit(&chunk)?;
        Ok(id)
    }

    fn font_index(&mut self, font: &'static PrintFont) -> usize {
        if let Some(i) = self.fonts.iter().position(|f| std::ptr::eq(f.font, font)) {
            return i;
        }
        let type0 = self.alloc();
        // CID 0 is .notdef, as in every font.
        let mut remapper = subsetter::GlyphRemapper::new();
        remapper.remap(0);
        self.fonts.push(FontState { font, type0, remapper, widths: vec![0.0], text: vec![None] });
        self.fonts.len() - 1
    }

    /// A page of `w` × `h` millimetres drawn by `draw`, written out at once.
    pub(super) fn page(
        &mut self,
        w: f32,
        h: f32,
        draw: impl FnOnce(&mut PdfCanvas<'_, W>) -> Result<(), super::PrintError>,
    ) -> Result<(), super::PrintError> {
        let mut canvas = PdfCanvas { doc: self, draw: Draw::default() };
        // Millimetres, y down.
        canvas.draw.content.transform([PT_PER_MM, 0.0, 0.0, -PT_PER_MM, 0.0, h * PT_PER_MM]);
        let drawn = draw(&mut canvas);
        let Draw { content, fonts, xobjects } = canvas.draw;
        drawn?;
        if let Some(e) = self.failed.take() {
            return Err(e.for_target(&self.target));
        }
        self.write_page(w, h, &content.finish(), &fonts, &xobjects).map_err(|e| e.for_target(&self.target))
    }

    fn write_page(
        &mut self,
        w: f32,
        h: f32,
        content: &[u8],
        fonts: &BTreeSet<usize>,
        xobjects: &BTreeSet<i32>,
    ) -> Result<(), PdfError> {
        let content_ref = self.alloc();
        let data = deflate(content)?;
        let mut chunk = new_chunk();
        chunk.stream(content_ref, &data).filter(Filter::FlateDecode);
        self.emit(&chunk)?;
        let page_ref = self.alloc();
        let mut chunk = new_chunk();
        let mut page = chunk.page(page_ref);
        page.parent(self.pages_ref).media_box(Rect::new(0.0, 0.0, r(w * PT_PER_MM), r(h * PT_PER_MM)));
        page.contents(content_ref);
        self.resources(page.resources(), fonts, xobjects);
        page.finish();
        self.emit(&chunk)?;
        self.pages.push(page_ref);
        Ok(())
    }

    fn resources(
        &self,
        mut res: pdf_writer::writers::Resources<'_>,
        fonts: &BTreeSet<usize>,
        xobjects: &BTreeSet<i32>,
    ) {
        if !fonts.is_empty() {
            let mut dict = res.fonts();
            for &i in fonts {
                dict.pair(Name(font_name(i).as_bytes()), self.fonts[i].type0);
            }
        }
        if !xobjects.is_empty() {
            let mut dict = res.x_objects();
            for &x in xobjects {
                dict.pair(Name(xobject_name(x).as_bytes()), Ref::new(x));
            }
        }
    }

    /// A form XObject of `bbox` (its own units) holding what `draw` made.
    fn write_form(&mut self, draw: Draw, bbox: Rect) -> Result<Ref, PdfError> {
        let id = self.alloc();
        let Draw { content, fonts, xobjects } = draw;
        let data = deflate(&content.finish())?;
        let mut chunk = new_chunk();
        let mut form = chunk.form_xobject(id, &data);
        form.bbox(bbox);
        form.filter(Filter::FlateDecode);
        self.resources(form.resources(), &fonts, &xobjects);
        form.finish();
        self.emit(&chunk)?;
        Ok(id)
    }

    /// Writes the fonts, the page tree, the catalogue and the cross-reference table; returns the output.
    pub(super) fn finish(mut self, title: &str) -> Result<W, PdfError> {
        let fonts = std::mem::take(&mut self.fonts);
        for font in &fonts {
            self.write_font(font)?;
        }
        let mut chunk = new_chunk();
        chunk.pages(self.pages_ref).kids(self.pages.iter().copied()).count(self.pages.len() as i32);
        self.emit(&chunk)?;
        let info = self.alloc();
        let mut chunk = new_chunk();
        let mut doc_info = chunk.indirect(info).start::<DocumentInfo>();
        doc_info.title(TextStr(title)).creator(TextStr("TillDesk")).producer(TextStr("TillDesk"));
        doc_info.finish();
        self.emit(&chunk)?;
        let catalog = self.alloc();
        let mut chunk = new_chunk();
        chunk.indirect(catalog).start::<Catalog>().pages(self.pages_ref);
        self.emit(&chunk)?;

        let xref = self.out.pos;
        let mut table = format!("xref\n0 {}\n0000000000 65535 f\r\n", self.offsets.len() + 1);
        for offset in &self.offsets {
            table.push_str(&format!("{offset:010} 00000 n\r\n"));
        }
        table.push_str(&format!(
            "trailer\n<< /Size {} /Root {} 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len() + 1,
            catalog.get(),
            info.get()
        ));
        self.out.put(table.as_bytes())?;
        self.out.inner.flush()?;
        Ok(self.out.inner)
    }

    fn write_font(&mut self, state: &FontState) -> Result<(), PdfError> {
        let font = state.font;
        let (bytes, index) = font.data();
        let font_err = |detail: String| PdfError::Font { font: font.source.clone(), detail };
        let subset = subsetter::subset(bytes, index, &state.remapper).map_err(|e| font_err(format!("{e:?}")))?;
        let subset_ref = FontRef::new(&subset).map_err(|e| font_err(e.to_string()))?;
        let cff = subset_ref.data_for_tag(skrifa::raw::types::Tag::new(b"CFF ")).map(|d| d.as_bytes().to_vec());
        let original = FontRef::from_index(bytes, index).map_err(|e| font_err(e.to_string()))?;
        let metrics = original.metrics(Size::unscaled(), LocationRef::default());
        let upem = f32::from(metrics.units_per_em.max(1));
        let units = |v: f32| r(v / upem * 1000.0);
        let ps_name: String = original
            .localized_strings(StringId::POSTSCRIPT_NAME)
            .english_or_first()
            .map(|s| s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect())
            .filter(|s: &String| !s.is_empty())
            .unwrap_or_else(|| "TillDeskFont".to_owned());
        // The subset tag: six capitals from the glyphs used, so different subsets of one font get different names.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for w in state
            .widths
            .iter()
            .map(|w| w.to_bits())
            .chain(state.text.iter().map(|t| t.as_ref().map_or(0, |t| t.len() as u32)))
        {
            hash = (hash ^ u64::from(w)).wrapping_mul(0x0100_0000_01b3);
        }
        let tag: String = (0..6).map(|i| char::from(b'A' + ((hash >> (i * 5)) % 26) as u8)).collect();
        let base_font = format!("{tag}+{ps_name}");

        let cid_ref = self.alloc();
        let descriptor_ref = self.alloc();
        let cmap_ref = self.alloc();
        let file_ref = self.alloc();

        let mut chunk = new_chunk();
        let type0_name = if cff.is_some() { format!("{base_font}-Identity-H") } else { base_font.clone() };
        chunk
            .type0_font(state.type0)
            .base_font(Name(type0_name.as_bytes()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_ref)
            .to_unicode(cmap_ref);
        self.emit(&chunk)?;

        let mut chunk = new_chunk();
        let mut cid = chunk.cid_font(cid_ref);
        cid.subtype(if cff.is_some() { CidFontType::Type0 } else { CidFontType::Type2 });
        cid.base_font(Name(base_font.as_bytes()));
        cid.system_info(SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 });
        cid.font_descriptor(descriptor_ref);
        cid.default_width(0.0);
        if cff.is_none() {
            cid.cid_to_gid_map_predefined(Name(b"Identity"));
        }
        cid.widths().consecutive(0, state.widths.iter().copied());
        cid.finish();
        self.emit(&chunk)?;

        let bbox = metrics.bounds.map_or(Rect::new(0.0, units(metrics.descent), 1000.0, units(metrics.ascent)), |b| {
            Rect::new(units(b.x_min), units(b.y_min), units(b.x_max), units(b.y_max))
        });
        let mut chunk = new_chunk();
        let mut descriptor = chunk.font_descriptor(descriptor_ref);
        descriptor
            .name(Name(base_font.as_bytes()))
            .flags(FontFlags::SYMBOLIC)
            .bbox(bbox)
            .italic_angle(metrics.italic_angle)
            .ascent(units(metrics.ascent))
            .descent(units(metrics.descent))
            .cap_height(units(metrics.cap_height.unwrap_or(metrics.ascent)))
            .stem_v(80.0);
        if cff.is_some() {
            descriptor.font_file3(file_ref);
        } else {
            descriptor.font_file2(file_ref);
        }
        descriptor.finish();
        self.emit(&chunk)?;

        let mut cmap = UnicodeCmap::<u16>::new(
            Name(b"Custom"),
            SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"UCS"), supplement: 0 },
        );
        for (cid, text) in state.text.iter().enumerate() {
            if let (Some(text), Ok(cid)) = (text, u16::try_from(cid)) {
                cmap.pair_with_multiple(cid, text.chars());
            }
        }
        let cmap_data = deflate(&cmap.finish())?;
        let mut chunk = new_chunk();
        let mut cmap_stream = chunk.cmap(cmap_ref, &cmap_data);
        cmap_stream.filter(Filter::FlateDecode);
        cmap_stream.finish();
        self.emit(&chunk)?;

        let data = deflate(cff.as_deref().unwrap_or(&subset))?;
        let mut chunk = new_chunk();
        let mut stream = chunk.stream(file_ref, &data);
        stream.filter(Filter::FlateDecode);
        if cff.is_some() {
            stream.pair(Name(b"Subtype"), Name(b"CIDFontType0C"));
        }
        stream.finish();
        self.emit(&chunk)?;
        Ok(())
    }
}

/// Draws one page (or one piece of shared artwork) into the document.
pub(super) struct PdfCanvas<'d, W: Write> {
    doc: &'d mut PdfDoc<W>,
    draw: Draw,
}

impl<W: Write> PdfCanvas<'_, W> {
    fn fail(&mut self, e: PdfError) {
        if self.doc.failed.is_none() {
            self.doc.failed = Some(e);
        }
    }

    fn place(&mut self, form: Ref, matrix: [f32; 6]) {
        self.draw.xobjects.insert(form.get());
        let c = &mut self.draw.content;
        c.save_state();
        c.transform(matrix);
        c.x_object(Name(xobject_name(form.get()).as_bytes()));
        c.restore_state();
    }

    fn rounded(&mut self, x: f32, y: f32, w: f32, h: f32, radius: f32) {
        let rad = radius.min(w / 2.0).min(h / 2.0);
        let k = rad * 0.552_284_8;
        let c = &mut self.draw.content;
        c.move_to(r(x + rad), r(y));
        c.line_to(r(x + w - rad), r(y));
        c.cubic_to(r(x + w - rad + k), r(y), r(x + w), r(y + rad - k), r(x + w), r(y + rad));
        c.line_to(r(x + w), r(y + h - rad));
        c.cubic_to(r(x + w), r(y + h - rad + k), r(x + w - rad + k), r(y + h), r(x + w - rad), r(y + h));
        c.line_to(r(x + rad), r(y + h));
        c.cubic_to(r(x + rad - k), r(y + h), r(x), r(y + h - rad + k), r(x), r(y + h - rad));
        c.line_to(r(x), r(y + rad));
        c.cubic_to(r(x), r(y + rad - k), r(x + rad - k), r(y), r(x + rad), r(y));
        c.close_path();
    }
}

impl<W: Write> Canvas for PdfCanvas<'_, W> {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        let (cr, cg, cb) = rgb(color);
        self.draw.content.set_fill_rgb(cr, cg, cb).rect(r(x), r(y), r(w), r(h)).fill_nonzero();
    }

    fn rounded_rect(&mut self, x: f32, y: f32, w: f32, h: f32, radius: f32, color: Rgb) {
        let (cr, cg, cb) = rgb(color);
        self.draw.content.set_fill_rgb(cr, cg, cb);
        self.rounded(x, y, w, h, radius);
        self.draw.content.fill_nonzero();
    }

    fn dashed_line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: Rgb) {
        let (cr, cg, cb) = rgb(color);
        let c = &mut self.draw.content;
        c.save_state();
        c.set_stroke_rgb(cr, cg, cb).set_line_width(r(width)).set_line_cap(LineCapStyle::ButtCap);
        c.set_dash_pattern([2.0, 1.5], 0.0);
        c.move_to(r(from.0), r(from.1)).line_to(r(to.0), r(to.1)).stroke();
        c.restore_state();
    }

    fn text(&mut self, run: &Shaped, x: f32, y: f32, color: Rgb) {
        let (cr, cg, cb) = rgb(color);
        self.draw.content.set_fill_rgb(cr, cg, cb).begin_text();
        let size = r(run.size_mm.max(0.01));
        let mut pen_x = x;
        // One piece per font; the CIDs are the glyphs renumbered in order of first use in the document.
        for glyphs in run.runs() {
            let Some(first) = glyphs.first() else { continue };
            let index = self.doc.font_index(first.font);
            let mut codes = Vec::with_capacity(glyphs.len() * 2);
            for g in glyphs {
                let text = run.text.get(g.range.clone()).unwrap_or_default();
                let cid = self.doc.fonts[index].cid(g.id, text);
                self.doc.fonts[index].widths[usize::from(cid)] = r(g.advance * 1000.0);
                codes.extend_from_slice(&cid.to_be_bytes());
            }
            self.draw.fonts.insert(index);
            let c = &mut self.draw.content;
            c.set_font(Name(font_name(index).as_bytes()), 1.0);
            // The page is y-down, text is y-up: flip it back.
            c.set_text_matrix([size, 0.0, 0.0, -size, r(pen_x), r(y)]);
            c.show(Str(&codes));
            pen_x += glyphs.iter().map(|g| g.advance).sum::<f32>() * run.size_mm;
        }
        self.draw.content.end_text();
    }

    fn qr(&mut self, qr: &QrMatrix, x: f32, y: f32, module: f32) {
        let form = match &self.doc.last_qr {
            Some((last, form)) if last == qr => *form,
            _ => {
                // The symbol in module units: one rectangle per horizontal run of dark modules.
                let mut draw = Draw::default();
                let n = qr.width();
                draw.content.set_fill_rgb(0.0, 0.0, 0.0);
                for (row, start, len) in qr.dark_runs() {
                    draw.content.rect(start as f32, row as f32, len as f32, 1.0);
                }
                draw.content.fill_nonzero();
                let side = n as f32;
                match self.doc.write_form(draw, Rect::new(0.0, 0.0, side, side)) {
                    Ok(form) => {
                        self.doc.last_qr = Some((qr.clone(), form));
                        form
                    }
                    Err(e) => return self.fail(e),
                }
            }
        };
        self.place(form, [module, 0.0, 0.0, module, x, y]);
    }

    fn image(&mut self, _logo: &Logo, x: f32, y: f32, w: f32, h: f32) {
        if let Some(logo) = self.doc.logo {
            // The image fills the unit square, y up: stretch it over the box and turn it the right way up.
            self.place(logo, [w, 0.0, 0.0, -h, x, y + h]);
        }
    }

    fn push_rotate_180(&mut self, cx: f32, cy: f32) {
        self.draw.content.save_state();
        self.draw.content.transform([-1.0, 0.0, 0.0, -1.0, r(2.0 * cx), r(2.0 * cy)]);
    }

    fn push_translate(&mut self, dx: f32, dy: f32) {
        self.draw.content.save_state();
        self.draw.content.transform([1.0, 0.0, 0.0, 1.0, r(dx), r(dy)]);
    }

    fn pop(&mut self) {
        self.draw.content.restore_state();
    }

    fn artwork(
        &mut self,
        key: &str,
        x: f32,
        y: f32,
        size: (f32, f32),
        draw: &mut dyn FnMut(&mut dyn Canvas) -> Result<(), super::PrintError>,
    ) -> Result<(), super::PrintError> {
        if let Some(form) = self.doc.forms.get(key).copied() {
            self.place(form, [1.0, 0.0, 0.0, 1.0, r(x), r(y)]);
            return Ok(());
        }
        if self.doc.seen.insert(key.to_owned()) {
            // The first time: drawn in place (most artwork keyed here comes again, but a one-page print needs no form).
            self.push_translate(x, y);
            let drawn = draw(self);
            self.pop();
            return drawn;
        }
        // The second time: kept as a form, placed here and on every later page.
        let outer = std::mem::take(&mut self.draw);
        let drawn = draw(self);
        let inner = std::mem::replace(&mut self.draw, outer);
        drawn?;
        // A margin around the box: strokes and glyph overshoot stay inside the form's clip.
        let bbox = Rect::new(-2.0, -2.0, size.0 + 2.0, size.1 + 2.0);
        let form = self.doc.write_form(inner, bbox).map_err(|e| e.for_target(&self.doc.target))?;
        self.doc.forms.insert(key.to_owned(), form);
        self.place(form, [1.0, 0.0, 0.0, 1.0, r(x), r(y)]);
        Ok(())
    }
}

impl PdfError {
    /// As the print module reports it: a failed write names the file being written.
    pub(super) fn for_target(self, target: &Path) -> super::PrintError {
        match self {
            PdfError::Io(source) => super::PrintError::Write { path: target.to_owned(), source },
            e @ PdfError::Font { .. } => super::PrintError::Pdf { detail: e.to_string() },
        }
    }
}
