//! The bundled CJK font (Noto Sans SC, GB2312 subset, OFL: assets/fonts/OFL.txt).
//!
//! It is added as the lowest-priority fallback: Latin stays in egui's own fonts, Chinese always renders even on a
//! machine without CJK fonts, and eframe's `system_fonts` can still supply rare characters from the OS.

use egui::epaint::text::{FontInsert, FontPriority, InsertFontFamily};

pub const CJK_FONT: &[u8] = crate::print::fonts::BUNDLED_CJK_FONT;

pub fn install_cjk_font(ctx: &egui::Context) {
    ctx.add_font(FontInsert::new(
        "noto-sans-sc-gb2312",
        egui::FontData::from_static(CJK_FONT),
        vec![
            InsertFontFamily { family: egui::FontFamily::Proportional, priority: FontPriority::Lowest },
            InsertFontFamily { family: egui::FontFamily::Monospace, priority: FontPriority::Lowest },
        ],
    ));
}
