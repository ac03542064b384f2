//! 店铺码 Store codes: generate, preview, print.

use crate::ui::Ctx;

#[derive(Debug, Default)]
pub struct StoreCodesScreen {}

impl StoreCodesScreen {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        super::coming_soon(ui, ctx.lang);
    }
}
