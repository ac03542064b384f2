//! PDF back end (krilla): vector QR (one path per code), text as glyphs of an embedded font subset, logo as an
//! image embedded once per document however many pages use it.

use krilla::color::rgb;
use krilla::geom::{Path, PathBuilder, Point, Rect, Size, Transform};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, FillRule, LineCap, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::text::{GlyphId, KrillaGlyph};

use super::Logo;
use super::fonts::Shaped;
use super::layout::{Canvas, PT_PER_MM, Rgb};
use crate::mpm::QrMatrix;

pub struct PdfCanvas<'s, 'p> {
    pub surface: &'s mut Surface<'p>,
    /// The logo as a PDF image, made once per document.
    pub logo_image: Option<krilla::image::Image>,
}

fn pt(mm: f32) -> f32 {
    mm * PT_PER_MM
}

fn fill(color: Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

fn rect_path(x: f32, y: f32, w: f32, h: f32) -> Option<Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(pt(x), pt(y), pt(w), pt(h))?);
    pb.finish()
}

/// A rounded rectangle as cubic Béziers, in points.
fn rounded_path(x: f32, y: f32, w: f32, h: f32, r: f32) -> Option<Path> {
    let (x, y, w, h) = (pt(x), pt(y), pt(w), pt(h));
    let r = pt(r).min(w / 2.0).min(h / 2.0);
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
    pb.finish()
}

impl Canvas for PdfCanvas<'_, '_> {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        if let Some(path) = rect_path(x, y, w, h) {
            self.surface.set_fill(Some(fill(color)));
            self.surface.set_stroke(None);
            self.surface.draw_path(&path);
        }
    }

    fn rounded_rect(&mut self, x: f32, y: f32, w: f32, h: f32, radius: f32, color: Rgb) {
        if let Some(path) = rounded_path(x, y, w, h, radius) {
            self.surface.set_fill(Some(fill(color)));
            self.surface.set_stroke(None);
            self.surface.draw_path(&path);
        }
    }

    fn dashed_line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: Rgb) {
        let mut pb = PathBuilder::new();
        pb.move_to(pt(from.0), pt(from.1));
        pb.line_to(pt(to.0), pt(to.1));
        if let Some(path) = pb.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                paint: rgb::Color::new(color.0, color.1, color.2).into(),
                width: pt(width),
                line_cap: LineCap::Butt,
                dash: Some(StrokeDash { array: vec![pt(2.0), pt(1.5)], offset: 0.0 }),
                ..Default::default()
            }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
        }
    }

    fn text(&mut self, run: &Shaped, x: f32, y: f32, color: Rgb) {
        self.surface.set_fill(Some(fill(color)));
        self.surface.set_stroke(None);
        // One glyph run per font; each run carries its own text so that copy/paste and search see every character.
        let mut pen_x = x;
        for glyphs in run.runs() {
            let (Some(first), Some(last)) = (glyphs.first(), glyphs.last()) else { continue };
            let start = first.range.start;
            let text = &run.text[start..last.range.end];
            let krilla_glyphs: Vec<KrillaGlyph> = glyphs
                .iter()
                .map(|g| KrillaGlyph {
                    glyph_id: GlyphId::new(g.id),
                    text_range: g.range.start - start..g.range.end - start,
                    x_advance: g.advance,
                    x_offset: 0.0,
                    y_offset: 0.0,
                    y_advance: 0.0,
                    location: None,
                })
                .collect();
            self.surface.draw_glyphs(
                Point::from_xy(pt(pen_x), pt(y)),
                &krilla_glyphs,
                first.font.krilla.clone(),
                text,
                pt(run.size_mm),
                false,
            );
            pen_x += glyphs.iter().map(|g| g.advance).sum::<f32>() * run.size_mm;
        }
    }

    fn qr(&mut self, qr: &QrMatrix, x: f32, y: f32, module: f32) {
        // One path for the whole symbol, in module units under a scaling transform (short integer coordinates
        // compress well), dark modules merged into horizontal runs: no seams between modules when a viewer or
        // printer rasterises it, and a small file.
        let mut pb = PathBuilder::new();
        let n = qr.width();
        for row in 0..n {
            let mut col = 0;
            while col < n {
                if !qr.is_dark(col, row) {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < n && qr.is_dark(col, row) {
                    col += 1;
                }
                if let Some(r) = Rect::from_xywh(start as f32, row as f32, (col - start) as f32, 1.0) {
                    pb.push_rect(r);
                }
            }
        }
        if let Some(path) = pb.finish() {
            let m = pt(module);
            self.surface.push_transform(&Transform::from_row(m, 0.0, 0.0, m, pt(x), pt(y)));
            self.surface.set_fill(Some(fill(Rgb(0, 0, 0))));
            self.surface.set_stroke(None);
            self.surface.draw_path(&path);
            self.surface.pop();
        }
    }

    fn image(&mut self, _logo: &Logo, x: f32, y: f32, w: f32, h: f32) {
        if let (Some(image), Some(size)) = (self.logo_image.clone(), Size::from_wh(pt(w), pt(h))) {
            self.surface.push_transform(&Transform::from_translate(pt(x), pt(y)));
            self.surface.draw_image(image, size);
            self.surface.pop();
        }
    }

    fn push_rotate_180(&mut self, cx: f32, cy: f32) {
        self.surface.push_transform(&Transform::from_rotate_at(180.0, pt(cx), pt(cy)));
    }

    fn pop(&mut self) {
        self.surface.pop();
    }
}
