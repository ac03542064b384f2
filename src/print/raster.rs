//! PNG back end (tiny-skia): the same layout as the PDF, rasterised at a chosen resolution. Text is drawn from the
//! glyph outlines of the same fonts.

use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};
use skrifa::outline::{DrawSettings, OutlinePen};
use tiny_skia::{
    Color, FillRule, FilterQuality, IntSize, Paint, PathBuilder, Pixmap, PixmapPaint, Rect, Stroke, StrokeDash,
    Transform,
};

use super::fonts::Shaped;
use super::layout::{Canvas, Rgb};
use super::{Logo, PrintError};
use crate::mpm::QrMatrix;

pub struct RasterCanvas {
    pub pixmap: Pixmap,
    /// Millimetres to pixels, then any rotations pushed.
    transforms: Vec<Transform>,
    logo: Option<Pixmap>,
}

fn paint(color: Rgb) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(color.0, color.1, color.2, 255);
    p.anti_alias = true;
    p
}

impl RasterCanvas {
    /// A white page of `w_mm` × `h_mm` at `dpi`.
    pub fn new(w_mm: f32, h_mm: f32, dpi: u32, logo: Option<&Logo>) -> Result<RasterCanvas, PrintError> {
        let scale = dpi as f32 / 25.4;
        let (w, h) = ((w_mm * scale).round() as u32, (h_mm * scale).round() as u32);
        let mut pixmap = Pixmap::new(w, h).ok_or(PrintError::Resolution { dpi })?;
        pixmap.fill(Color::WHITE);
        let logo = match logo {
            Some(l) => Some(logo_pixmap(l)?),
            None => None,
        };
        Ok(RasterCanvas { pixmap, transforms: vec![Transform::from_scale(scale, scale)], logo })
    }

    fn t(&self) -> Transform {
        self.transforms.last().copied().unwrap_or_default()
    }

    /// Straight (not premultiplied) RGBA pixels, row by row.
    pub fn into_rgba(self) -> (u32, u32, Vec<u8>) {
        let (w, h) = (self.pixmap.width(), self.pixmap.height());
        let mut data = self.pixmap.take();
        for px in data.chunks_exact_mut(4) {
            let a = px[3];
            if a != 0 && a != 255 {
                for c in &mut px[..3] {
                    *c = ((u16::from(*c) * 255 + u16::from(a) / 2) / u16::from(a)).min(255) as u8;
                }
            }
        }
        (w, h, data)
    }
}

fn logo_pixmap(logo: &Logo) -> Result<Pixmap, PrintError> {
    let size = IntSize::from_wh(logo.width, logo.height).ok_or(PrintError::Resolution { dpi: 0 })?;
    let mut data = logo.rgba.to_vec();
    for px in data.chunks_exact_mut(4) {
        let a = u16::from(px[3]);
        for c in &mut px[..3] {
            *c = ((u16::from(*c) * a + 127) / 255) as u8;
        }
    }
    Pixmap::from_vec(data, size).ok_or(PrintError::Resolution { dpi: 0 })
}

/// Collects a glyph outline (font units, y up) into a path in millimetres (y down).
struct Pen<'a> {
    pb: &'a mut PathBuilder,
    x: f32,
    y: f32,
    scale: f32,
}

impl Pen<'_> {
    fn p(&self, x: f32, y: f32) -> (f32, f32) {
        (self.x + x * self.scale, self.y - y * self.scale)
    }
}

impl OutlinePen for Pen<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.p(x, y);
        self.pb.move_to(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.p(x, y);
        self.pb.line_to(x, y);
    }
    fn quad_to(&mut self, cx0: f32, cy0: f32, x: f32, y: f32) {
        let (cx0, cy0) = self.p(cx0, cy0);
        let (x, y) = self.p(x, y);
        self.pb.quad_to(cx0, cy0, x, y);
    }
    fn curve_to(&mut self, cx0: f32, cy0: f32, cx1: f32, cy1: f32, x: f32, y: f32) {
        let (cx0, cy0) = self.p(cx0, cy0);
        let (cx1, cy1) = self.p(cx1, cy1);
        let (x, y) = self.p(x, y);
        self.pb.cubic_to(cx0, cy0, cx1, cy1, x, y);
    }
    fn close(&mut self) {
        self.pb.close();
    }
}

impl Canvas for RasterCanvas {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            let path = PathBuilder::from_rect(r);
            let t = self.t();
            self.pixmap.fill_path(&path, &paint(color), FillRule::Winding, t, None);
        }
    }

    fn rounded_rect(&mut self, x: f32, y: f32, w: f32, h: f32, radius: f32, color: Rgb) {
        let r = radius.min(w / 2.0).min(h / 2.0);
        let k = r * 0.552_284_8;
        let mut pb = PathBuilder::new();
        pb.move_to(x + r, y);
        pb.line_to(x + w - r, y);
        pb.cubic_to(x + w - r + k, y, x + w, y + r - k, x + w, y + r);
        pb.line_to(x + w, y + h - r);
        pb.cubic_to(x + w, y + h - r + k, x + w - r + k, y + h, x + w - r, y + h);
        pb.line_to(x + r, y + h);
        pb.cubic_to(x + r - k, y + h, x, y + h - r + k, x, y + h - r);
        pb.line_to(x, y + r);
        pb.cubic_to(x, y + r - k, x + r - k, y, x + r, y);
        pb.close();
        if let Some(path) = pb.finish() {
            let t = self.t();
            self.pixmap.fill_path(&path, &paint(color), FillRule::Winding, t, None);
        }
    }

    fn dashed_line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: Rgb) {
        let mut pb = PathBuilder::new();
        pb.move_to(from.0, from.1);
        pb.line_to(to.0, to.1);
        if let Some(path) = pb.finish() {
            let stroke = Stroke { width, dash: StrokeDash::new(vec![2.0, 1.5], 0.0), ..Default::default() };
            let t = self.t();
            self.pixmap.stroke_path(&path, &paint(color), &stroke, t, None);
        }
    }

    fn text(&mut self, run: &Shaped, x: f32, y: f32, color: Rgb) {
        let mut pb = PathBuilder::new();
        let mut pen_x = x;
        for glyphs in run.runs() {
            let font = glyphs[0].font;
            let font_ref = font.font_ref();
            let outlines = font_ref.outline_glyphs();
            let scale = run.size_mm / font.units_per_em();
            for g in glyphs {
                if let Some(glyph) = outlines.get(skrifa::GlyphId::new(g.id)) {
                    let mut pen = Pen { pb: &mut pb, x: pen_x, y, scale };
                    let settings = DrawSettings::unhinted(Size::unscaled(), LocationRef::default());
                    if let Err(e) = glyph.draw(settings, &mut pen) {
                        tracing::warn!(glyph = g.id, "cannot draw glyph: {e}");
                    }
                }
                pen_x += g.advance * run.size_mm;
            }
        }
        if let Some(path) = pb.finish() {
            let t = self.t();
            self.pixmap.fill_path(&path, &paint(color), FillRule::Winding, t, None);
        }
    }

    fn qr(&mut self, qr: &QrMatrix, x: f32, y: f32, module: f32) {
        let mut pb = PathBuilder::new();
        for (row, start, len) in qr.dark_runs() {
            let (rx, ry) = (x + start as f32 * module, y + row as f32 * module);
            if let Some(r) = Rect::from_xywh(rx, ry, len as f32 * module, module) {
                pb.push_rect(r);
            }
        }
        if let Some(path) = pb.finish() {
            let t = self.t();
            self.pixmap.fill_path(&path, &paint(Rgb(0, 0, 0)), FillRule::Winding, t, None);
        }
    }

    fn image(&mut self, _logo: &Logo, x: f32, y: f32, w: f32, h: f32) {
        let base = self.t();
        if let Some(logo) = &self.logo {
            let t = base.pre_translate(x, y).pre_scale(w / logo.width() as f32, h / logo.height() as f32);
            let paint = PixmapPaint { quality: FilterQuality::Bicubic, ..Default::default() };
            self.pixmap.draw_pixmap(0, 0, logo.as_ref(), &paint, t, None);
        }
    }

    fn push_rotate_180(&mut self, cx: f32, cy: f32) {
        let t = self.t().pre_concat(Transform::from_rotate_at(180.0, cx, cy));
        self.transforms.push(t);
    }

    fn push_translate(&mut self, dx: f32, dy: f32) {
        let t = self.t().pre_concat(Transform::from_translate(dx, dy));
        self.transforms.push(t);
    }

    fn pop(&mut self) {
        if self.transforms.len() > 1 {
            self.transforms.pop();
        }
    }

    fn artwork(
        &mut self,
        _key: &str,
        x: f32,
        y: f32,
        _size: (f32, f32),
        draw: &mut dyn FnMut(&mut dyn Canvas) -> Result<(), PrintError>,
    ) -> Result<(), PrintError> {
        self.push_translate(x, y);
        let drawn = draw(self);
        self.pop();
        drawn
    }
}

/// An RGB PNG with its resolution recorded (pHYs), so image programs print it at its real size.
pub fn encode_png(width: u32, height: u32, rgba: &[u8], dpi: u32) -> Result<Vec<u8>, PrintError> {
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for px in rgba.chunks_exact(4) {
        rgb.extend_from_slice(&px[..3]);
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let ppm = (dpi as f64 / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions { xppu: ppm, yppu: ppm, unit: png::Unit::Meter }));
        let io = |e: png::EncodingError| PrintError::Png { detail: e.to_string() };
        let mut writer = encoder.write_header().map_err(io)?;
        writer.write_image_data(&rgb).map_err(io)?;
        writer.finish().map_err(io)?;
    }
    Ok(out)
}
