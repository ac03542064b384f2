//! 收单机构 Acquirers: onboarding, CDS binding.

use crate::ui::Ctx;

#[derive(Debug, Default)]
pub struct AcquirersScreen {}

impl AcquirersScreen {
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        super::coming_soon(ui, ctx.lang);
    }
}
