//! 店铺码 Store codes: each store's code built from its bindings, in the format the store picks, with a live QR
//! preview and the decoded fields; saving it as a PNG; printing stands, stickers and posters of one store or many
//! ([`PrintPanel`]); and the code checker (what a wallet would do with any code).

use std::path::PathBuf;
use std::sync::mpsc;

use crate::channel::cds::CdsClient;
use crate::i18n::Lang;
use crate::model::{CodeFormatChoice, Store as StoreRow, StoreId};
use crate::mpm::{CodeFormat, DecodedStoreCode, ErrorCorrection, decode_store_code, qr_matrix, render_png};
use crate::onboarding::{BuiltCode, CodeCheck, build_for_store, check_code};
use crate::ui::Ctx;
use crate::ui::acquirers::CodeSource;
use crate::ui::jobs::{Job, dropped_path, show_running};
use crate::ui::print::PrintPanel;

#[derive(Default)]
pub struct StoreCodesScreen {
    loaded: bool,
    last_frame: u64,
    stores: Vec<StoreRow>,
    selected: Option<StoreId>,
    format: Option<CodeFormatChoice>,
    built: Option<Result<BuiltCode, String>>,
    texture: Option<(String, egui::TextureHandle)>,
    png_path: String,
    saved: Option<Result<String, String>>,
    // The code checker.
    check_payload: String,
    check_path: String,
    check_job: Option<Job<Result<CodeCheck, String>>>,
    check_result: Option<Result<CodeCheck, String>>,
    dialog: Option<mpsc::Receiver<Option<PathBuf>>>,
    /// Printing: templates, stores, logo, preview, Save PDF… and Print….
    pub print: PrintPanel,
}

impl std::fmt::Debug for StoreCodesScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCodesScreen").field("selected", &self.selected).finish_non_exhaustive()
    }
}

fn format_label(lang: Lang, f: CodeFormat) -> &'static str {
    match f {
        CodeFormat::AlipayPlusMpm => lang.pick("Alipay+ MPM 码", "Alipay+ MPM code"),
        CodeFormat::Emvco => lang.pick("EMVCo 码", "EMVCo code"),
    }
}

/// The QR symbol as an image: `scale` pixels a module, 4 modules of quiet zone (this screen and the dynamic code).
pub(crate) fn qr_image(payload: &str, scale: usize) -> Result<egui::ColorImage, String> {
    let m = qr_matrix(payload, ErrorCorrection::Medium).map_err(|e| e.to_string())?;
    let quiet = 4usize;
    let side = (m.width() + 2 * quiet) * scale;
    let mut pixels = vec![egui::Color32::WHITE; side * side];
    for y in 0..m.width() {
        for x in 0..m.width() {
            if m.is_dark(x, y) {
                for dy in 0..scale {
                    let row = ((y + quiet) * scale + dy) * side;
                    for dx in 0..scale {
                        pixels[row + (x + quiet) * scale + dx] = egui::Color32::BLACK;
                    }
                }
            }
        }
    }
    Ok(egui::ColorImage::new([side, side], pixels))
}

/// The decoded fields of a code, as a two-column grid.
pub fn decoded_grid(ui: &mut egui::Ui, lang: Lang, id: &str, d: &DecodedStoreCode) {
    egui::Grid::new(id).num_columns(2).spacing([16.0, 4.0]).striped(true).show(ui, |ui| {
        let mut row = |k: &str, v: &str| {
            if !v.is_empty() {
                ui.label(k);
                ui.monospace(v);
                ui.end_row();
            }
        };
        row(lang.pick("格式", "Format"), format_label(lang, d.format));
        row(lang.pick("商户名称 (59)", "Merchant name (59)"), &d.merchant_name);
        row(lang.pick("中文名称 (64)", "Chinese name (64)"), d.merchant_name_alt.as_deref().unwrap_or_default());
        row(lang.pick("城市 (60)", "City (60)"), &d.merchant_city);
        row("MCC (52)", &d.mcc);
        row(lang.pick("币种 (53)", "Currency (53)"), &d.currency_numeric);
        row(lang.pick("门店标签 (62/03)", "Store label (62/03)"), d.store_label.as_deref().unwrap_or_default());
        for r in &d.references {
            row(lang.pick("收单机构参考数据", "Acquirer reference"), &format!("{} / {}", r.guid, r.merchant_id));
        }
        if let Some(c) = &d.cds {
            row(lang.pick("CDS 平台", "CDS platform"), &c.platform_id);
            row(lang.pick("商户 CDS 索引", "Merchant CDS index"), &c.cds_index);
        }
    });
}

impl StoreCodesScreen {
    fn reload(&mut self, ctx: &mut Ctx) {
        self.loaded = true;
        if let Err(e) = ctx.home.store.default_store() {
            ctx.error = Some(crate::i18n::Text::untranslated(e.to_string()));
        }
        self.stores = ctx.home.store.stores().unwrap_or_default();
        if self.selected.is_none_or(|id| !self.stores.iter().any(|s| s.id == id)) {
            self.selected = self.stores.first().map(|s| s.id);
        }
        self.rebuild(ctx);
    }

    fn rebuild(&mut self, ctx: &mut Ctx) {
        // Bindings, stores or the format may have changed: the printed codes follow.
        if !self.print.is_busy() {
            self.print.reload();
        }
        let Some(id) = self.selected else {
            self.built = None;
            return;
        };
        self.format = ctx.home.store.store_code_format(id).ok();
        self.built = Some(build_for_store(&ctx.home.store, id, None).map_err(|e| e.to_string()));
        if let Some(s) = self.stores.iter().find(|s| s.id == id)
            && self.png_path.is_empty()
        {
            self.png_path = std::env::temp_dir().join(format!("store-code-{}.png", s.store_code)).display().to_string();
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        // The bindings change on the Acquirers screen: rebuild whenever this screen is shown again.
        let frame = ui.ctx().cumulative_frame_nr();
        if !self.loaded || frame > self.last_frame + 1 {
            self.reload(ctx);
        }
        self.last_frame = frame;
        if let Some(path) = dropped_path(ui) {
            self.check_path = path.display().to_string();
            self.check_payload.clear();
        }
        if let Some(rx) = &self.dialog
            && let Ok(picked) = rx.try_recv()
        {
            if let Some(path) = picked {
                self.check_path = path.display().to_string();
            }
            self.dialog = None;
        }
        if let Some(job) = self.check_job.as_mut()
            && let Some(done) = job.poll()
        {
            self.check_result = Some(done);
            self.check_job = None;
        }
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            self.store_code_section(ui, ctx);
            ui.separator();
            self.print.ui(ui, ctx);
            ui.separator();
            self.checker_section(ui, ctx);
        });
    }

    fn store_code_section(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let mut changed = false;
        ui.horizontal_wrapped(|ui| {
            ui.label(egui::RichText::new(lang.pick("门店：", "Store: ")).strong());
            for s in &self.stores {
                let label = format!("{} {}", s.store_code, if s.name_zh.is_empty() { &s.name } else { &s.name_zh });
                if ui.selectable_label(self.selected == Some(s.id), label).clicked() {
                    self.selected = Some(s.id);
                    self.png_path.clear();
                    changed = true;
                }
            }
        });
        if let (Some(id), Some(current)) = (self.selected, self.format) {
            ui.horizontal(|ui| {
                ui.label(egui::RichText::new(lang.pick("码格式：", "Code format: ")).strong());
                for (choice, label) in [
                    (
                        CodeFormatChoice::Auto,
                        lang.pick("自动（有 CDS 时用 Alipay+）", "Automatic (Alipay+ once CDS exists)"),
                    ),
                    (CodeFormatChoice::AlipayPlus, "Alipay+ MPM"),
                    (CodeFormatChoice::Emvco, "EMVCo"),
                ] {
                    if ui.radio(current == choice, label).clicked() && current != choice {
                        if let Err(refused) = ctx.permit(crate::store::operators::Permission::ChangeSettings) {
                            ctx.error = Some(crate::i18n::Text::untranslated(refused));
                            continue;
                        }
                        match ctx.home.store.set_store_code_format(id, choice) {
                            Ok(()) => changed = true,
                            Err(e) => ctx.error = Some(crate::i18n::Text::untranslated(e.to_string())),
                        }
                    }
                }
                if ui.button(lang.pick("刷新", "Refresh")).clicked() {
                    changed = true;
                }
            });
        }
        if changed {
            self.rebuild(ctx);
        }
        match &self.built {
            None => {
                ui.label(lang.pick("没有门店", "No store"));
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                ui.label(lang.pick(
                    "请先在“收单机构”页为该门店入驻收单机构。",
                    "Onboard this store with an acquirer on the Acquirers screen first.",
                ));
            }
            Some(Ok(code)) => {
                let code = code.clone();
                ui.horizontal_top(|ui| {
                    let fresh = self.texture.as_ref().is_none_or(|(p, _)| *p != code.payload);
                    if fresh {
                        match qr_image(&code.payload, 6) {
                            Ok(img) => {
                                let tex = ui.ctx().load_texture("store-code-qr", img, egui::TextureOptions::NEAREST);
                                self.texture = Some((code.payload.clone(), tex));
                            }
                            Err(e) => {
                                ui.colored_label(ui.visuals().error_fg_color, e);
                            }
                        }
                    }
                    if let Some((_, tex)) = &self.texture {
                        ui.add(egui::Image::new(tex).fit_to_exact_size(egui::vec2(260.0, 260.0)));
                    }
                    ui.vertical(|ui| {
                        ui.label(egui::RichText::new(format_label(lang, code.format)).strong());
                        ui.add(egui::Label::new(egui::RichText::new(&code.payload).monospace()).wrap());
                        if ui.button(lang.pick("复制码内容", "Copy payload")).clicked() {
                            ui.ctx().copy_text(code.payload.clone());
                        }
                        ui.add_space(4.0);
                        match decode_store_code(&code.payload) {
                            Ok(d) => decoded_grid(ui, lang, "store-code-fields", &d),
                            Err(e) => {
                                ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                            }
                        }
                        ui.add_space(4.0);
                        ui.horizontal(|ui| {
                            let label = ui.label(lang.pick("PNG 文件", "PNG file"));
                            ui.add(egui::TextEdit::singleline(&mut self.png_path).desired_width(300.0))
                                .labelled_by(label.id);
                            if ui.button(lang.pick("保存为 PNG", "Save as PNG")).clicked() {
                                self.saved = Some(
                                    render_png(&code.payload, 10, 4)
                                        .map_err(|e| e.to_string())
                                        .and_then(|png| {
                                            std::fs::write(&self.png_path, png)
                                                .map_err(|e| format!("{}: {e}", self.png_path))
                                        })
                                        .map(|()| format!("{} {}", lang.pick("已保存", "Saved"), self.png_path)),
                                );
                            }
                        });
                        match &self.saved {
                            Some(Ok(m)) => {
                                ui.label(m);
                            }
                            Some(Err(e)) => {
                                ui.colored_label(ui.visuals().error_fg_color, e);
                            }
                            None => {}
                        }
                    });
                });
            }
        }
    }

    fn checker_section(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        ui.label(
            egui::RichText::new(lang.pick("验码：钱包扫码后会怎样", "Code checker: what a wallet would do")).strong(),
        );
        ui.horizontal(|ui| {
            let label = ui.label(lang.pick("待检查的图片", "Picture to check"));
            ui.add(
                egui::TextEdit::singleline(&mut self.check_path).desired_width(360.0).hint_text("/path/to/code.png"),
            )
            .labelled_by(label.id);
            if ui
                .add_enabled(self.dialog.is_none(), egui::Button::new(lang.pick("选择文件…", "Choose file…")))
                .clicked()
            {
                self.dialog = Some(crate::ui::acquirers::pick_file());
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label(lang.pick("待检查的码内容", "Payload to check"));
            ui.add(egui::TextEdit::multiline(&mut self.check_payload).desired_rows(2).desired_width(480.0))
                .labelled_by(label.id);
        });
        let busy = self.check_job.is_some();
        if ui.add_enabled(!busy, egui::Button::new(lang.pick("检查此码", "Check this code"))).clicked() {
            self.start_check(ui, ctx);
        }
        if let Some(job) = &self.check_job
            && show_running(ui, lang, job)
        {
            job.cancel.cancel();
        }
        match &self.check_result {
            Some(Ok(check)) => {
                decoded_grid(ui, lang, "checker-fields", &check.decoded);
                ui.add_space(4.0);
                ui.label(egui::RichText::new(lang.pick("钱包将：", "A wallet would:")).strong());
                for line in check.wallet_summary() {
                    ui.label(format!("· {line}"));
                }
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
    }

    fn start_check(&mut self, ui: &egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        // The picture is read and decoded by the job, off the UI thread (a phone photo takes a while).
        let source = if !self.check_payload.trim().is_empty() {
            CodeSource::Payload(self.check_payload.trim().to_owned())
        } else if !self.check_path.trim().is_empty() {
            CodeSource::File(std::path::PathBuf::from(self.check_path.trim()))
        } else {
            self.check_result = Some(Err(lang
                .pick("请先打开店铺码图片或粘贴码内容", "Open the code's picture or paste its payload first")
                .to_owned()));
            return;
        };
        let offline = match &source {
            CodeSource::Payload(text) => Some(text.clone()),
            CodeSource::File(_) => None,
        };
        let url = crate::ui::acquirers::platform_url(ctx).ok();
        let title = lang.pick("正在查询 CDS 平台", "Looking the code up").to_owned();
        match Job::spawn(ctx, ui.ctx(), title, move |_reporter, _cancel| async move {
            let text = source.read().await?;
            let client = match url.as_deref().map(CdsClient::new) {
                Some(Ok(c)) => Some(c),
                _ => None,
            };
            check_code(&text, client.as_ref()).await.map_err(|e| e.to_string())
        }) {
            Ok(job) => self.check_job = Some(job),
            // No runtime: a pasted code is still decoded (string parsing, instant); a picture waits for the runtime.
            Err(e) => {
                self.check_result = Some(match offline {
                    Some(text) => decode_store_code(&text)
                        .map(|decoded| CodeCheck { decoded, listing: None })
                        .map_err(|e| e.to_string()),
                    None => Err(e),
                })
            }
        }
    }
}
