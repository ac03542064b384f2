//! 店铺码 Store codes: each store's code built from its bindings, in the format the store picks, with a live QR
//! preview and the decoded fields; saving it as a PNG; printing stands, stickers and posters of one store or many
//! ([`PrintPanel`]); and the code checker (what a wallet would do with any code). The stores, the format and the
//! built code are read, the format saved and the PNG written through the command queue.

use crate::channel::cds::CdsClient;
use crate::i18n::{Lang, Phrase, Text};
use crate::model::{CodeFormatChoice, Store as StoreRow, StoreId};
use crate::mpm::{CodeFormat, DecodedStoreCode, ErrorCorrection, MpmError, decode_store_code, qr_matrix, render_png};
use crate::onboarding::{BuiltCode, CodeCheck, OnboardingError, build_for_store, check_code};
use crate::queue::{QueueError, Ticket, poll_slot};
use crate::store::StoreError;
use crate::ui::Ctx;
use crate::ui::acquirers::{CodeSource, code_picture_field, show_job};
use crate::ui::jobs::{Job, dropped_path};
use crate::ui::path_field::{PathEvent, PathField, Pick, remember_folder};
use crate::ui::words_setup::{default_save_dir, permit_text, store_error_text};

/// How long "Copied" stays beside the copy button, in seconds.
pub const COPIED_NOTE_SECS: f64 = 2.5;
use crate::ui::print::PrintPanel;

pub struct StoreCodesScreen {
    loaded: bool,
    last_frame: u64,
    stores: Vec<StoreRow>,
    selected: Option<StoreId>,
    format: Option<CodeFormatChoice>,
    built: Option<Result<BuiltCode, Text>>,
    /// The built code failed because the store has no acquirer yet (the screen then says where to onboard it).
    not_onboarded: bool,
    /// The stores being read, the code being built (format and code), the format being saved, the PNG being written.
    reading: Option<Ticket<Result<StoresRead, StoreError>>>,
    /// The onboarding server set for live mode (the code checker asks it).
    onboarding_url: Option<String>,
    building: Option<Ticket<Built>>,
    choosing: Option<Ticket<Result<(), StoreError>>>,
    writing: Option<Ticket<Result<std::path::PathBuf, Text>>>,
    texture: Option<(String, egui::TextureHandle)>,
    png: PathField,
    saved: Option<Result<Text, Text>>,
    /// When the payload was copied (egui's clock, seconds): "Copied" shows for [`COPIED_NOTE_SECS`].
    copied_at: Option<f64>,
    // The code checker.
    check_payload: String,
    check_file: PathField,
    check_job: Option<Job<Result<CodeCheck, Text>>>,
    check_result: Option<Result<CodeCheck, Text>>,
    /// Printing: templates, stores, logo, preview, Save PDF… and Print….
    pub print: PrintPanel,
}

impl Default for StoreCodesScreen {
    fn default() -> Self {
        StoreCodesScreen {
            loaded: false,
            last_frame: 0,
            stores: Vec::new(),
            selected: None,
            format: None,
            built: None,
            not_onboarded: false,
            reading: None,
            onboarding_url: None,
            building: None,
            choosing: None,
            writing: None,
            texture: None,
            png: PathField::new(Pick::Save, "PNG", &["png"]),
            saved: None,
            copied_at: None,
            check_payload: String::new(),
            check_file: code_picture_field(),
            check_job: None,
            check_result: None,
            print: PrintPanel::default(),
        }
    }
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

/// The stores and the live onboarding server, as read on the queue.
type StoresRead = (Vec<StoreRow>, Option<String>);

/// A store's code format and its code, as built on the queue.
type Built = (Option<CodeFormatChoice>, Result<BuiltCode, OnboardingError>);

/// The QR symbol as an image: `scale` pixels a module, 4 modules of quiet zone (this screen and the dynamic code).
pub(crate) fn qr_image(payload: &str, scale: usize) -> Result<egui::ColorImage, MpmError> {
    let m = qr_matrix(payload, ErrorCorrection::Medium)?;
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
    /// Reads the stores again (the default store made when there is none), on the queue.
    fn reload(&mut self, ctx: &mut Ctx) {
        self.loaded = true;
        self.reading = Some(ctx.queue.submit(|q| {
            q.store.setup_mut().default_store()?;
            Ok((q.store.setup().stores()?, q.store.setting(crate::ui::acquirers::SETTING_ONBOARDING_URL)?))
        }));
    }

    /// Builds the selected store's code again, on the queue.
    fn rebuild(&mut self, ctx: &mut Ctx) {
        // Bindings, stores or the format may have changed: the printed codes follow.
        if !self.print.is_busy() {
            self.print.reload();
        }
        let Some(id) = self.selected else {
            self.built = None;
            return;
        };
        self.building = Some(ctx.queue.submit(move |q| {
            let format = q.store.setup().store_code_format(id).ok();
            (format, build_for_store(&q.store, id, None))
        }));
        if let Some(s) = self.stores.iter().find(|s| s.id == id)
            && self.png.text.trim().is_empty()
        {
            let dir = crate::ui::path_field::recent_folders(ctx)
                .into_iter()
                .next()
                .unwrap_or_else(|| default_save_dir(&ctx.home.dir));
            self.png.text = dir.join(format!("store-code-{}.png", s.store_code)).display().to_string();
        }
    }

    /// Takes the answers that came: the stores, the built code, a saved format, a written PNG.
    fn poll(&mut self, ctx: &mut Ctx) {
        let failed = |ctx: &mut Ctx, e: QueueError| ctx.error = Some(e.text());
        match poll_slot(&mut self.reading) {
            Some(Ok(Ok((stores, onboarding_url)))) => {
                self.stores = stores;
                self.onboarding_url = onboarding_url;
                if self.selected.is_none_or(|id| !self.stores.iter().any(|s| s.id == id)) {
                    self.selected = self.stores.first().map(|s| s.id);
                }
                self.rebuild(ctx);
            }
            Some(Ok(Err(e))) => {
                ctx.error = Some(store_error_text(&e));
                self.rebuild(ctx);
            }
            Some(Err(e)) => failed(ctx, e),
            None => {}
        }
        match poll_slot(&mut self.building) {
            Some(Ok((format, built))) => {
                self.format = format;
                self.not_onboarded = matches!(built, Err(OnboardingError::NotOnboarded { .. }));
                self.built = Some(built.map_err(|e| e.text()));
            }
            Some(Err(e)) => {
                self.not_onboarded = false;
                self.built = Some(Err(e.text()));
            }
            None => {}
        }
        match poll_slot(&mut self.choosing) {
            Some(Ok(Ok(()))) => self.rebuild(ctx),
            Some(Ok(Err(e))) => ctx.error = Some(store_error_text(&e)),
            Some(Err(e)) => failed(ctx, e),
            None => {}
        }
        match poll_slot(&mut self.writing) {
            Some(Ok(Ok(path))) => {
                remember_folder(ctx, &path);
                self.png.clear_note();
                let shown = path.display().to_string();
                self.saved = Some(Ok(Text::new(format!("已保存到 {shown}"), format!("Saved to {shown}"))));
            }
            Some(Ok(Err(e))) => self.saved = Some(Err(e)),
            Some(Err(e)) => self.saved = Some(Err(e.text())),
            None => {}
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        // The bindings change on the Acquirers screen: rebuild whenever this screen is shown again.
        let frame = ui.ctx().cumulative_frame_nr();
        if !self.loaded || frame > self.last_frame + 1 {
            self.reload(ctx);
        }
        self.last_frame = frame;
        self.poll(ctx);
        if let Some(path) = dropped_path(ui) {
            self.check_file.text = path.display().to_string();
            self.check_payload.clear();
        }
        if let Some(job) = self.check_job.as_mut()
            && let Some(done) = job.poll()
        {
            self.check_result = Some(done);
            self.check_job = None;
        }
        // Vertical scrolling, and horizontal when a table is wider than a 1024-pixel window.
        egui::ScrollArea::both().id_salt("store-codes-screen").auto_shrink([false, false]).show(ui, |ui| {
            crate::ui::words_setup::centred(ui, 1200.0, |ui| {
                self.store_code_section(ui, ctx);
                ui.separator();
                self.print.ui(ui, ctx);
                ui.separator();
                self.checker_section(ui, ctx);
            });
        });
    }

    fn store_code_section(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        let mut changed = false;
        ui.horizontal_wrapped(|ui| {
            ui.label(egui::RichText::new(lang.pick("门店：", "Store: ")).strong());
            for s in &self.stores {
                let label = crate::ui::this_till::store_label(lang, s);
                if ui.selectable_label(self.selected == Some(s.id), label).clicked() {
                    self.selected = Some(s.id);
                    self.png.text.clear();
                    self.saved = None;
                    changed = true;
                }
            }
        });
        if let (Some(id), Some(current)) = (self.selected, self.format) {
            ui.horizontal_wrapped(|ui| {
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
                        if let Err(refused) = permit_text(ctx, crate::store::operators::Permission::ChangeSettings) {
                            ctx.error = Some(refused);
                            continue;
                        }
                        self.format = Some(choice);
                        self.choosing =
                            Some(ctx.queue.submit(move |q| q.store.setup_mut().set_store_code_format(id, choice)));
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
                ui.colored_label(ui.visuals().error_fg_color, e.get(lang));
                // Only when that is the reason: a format that cannot name the store's acquirers says what to do.
                if self.not_onboarded {
                    ui.label(lang.pick(
                        "请先在“收单机构”页为该门店入驻收单机构。",
                        "Onboard this store with an acquirer on the Acquirers screen first.",
                    ));
                }
            }
            Some(Ok(code)) => {
                let code = code.clone();
                // The picture beside the fields when there is room, above them in a narrow window.
                let wide = ui.available_width() >= 760.0;
                let layout = if wide {
                    egui::Layout::left_to_right(egui::Align::Min)
                } else {
                    egui::Layout::top_down(egui::Align::Min)
                };
                ui.with_layout(layout, |ui| {
                    let fresh = self.texture.as_ref().is_none_or(|(p, _)| *p != code.payload);
                    if fresh {
                        match qr_image(&code.payload, 6) {
                            Ok(img) => {
                                let tex = ui.ctx().load_texture("store-code-qr", img, egui::TextureOptions::NEAREST);
                                self.texture = Some((code.payload.clone(), tex));
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "could not draw the store code");
                                ui.colored_label(
                                    ui.visuals().error_fg_color,
                                    lang.pick(
                                        "无法生成二维码（详情见日志）",
                                        "could not draw the QR code (see the log)",
                                    ),
                                );
                            }
                        }
                    }
                    if let Some((_, tex)) = &self.texture {
                        ui.add(
                            egui::Image::new(tex)
                                .fit_to_exact_size(egui::vec2(260.0, 260.0))
                                .alt_text(lang.pick("店铺码二维码", "Store code QR")),
                        );
                    }
                    ui.vertical(|ui| self.code_details(ui, ctx, &code));
                });
            }
        }
    }

    /// The code's payload, copy button, decoded fields and Save as PNG.
    fn code_details(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, code: &BuiltCode) {
        let lang = ctx.lang;
        ui.label(egui::RichText::new(format_label(lang, code.format)).strong());
        ui.add(egui::Label::new(egui::RichText::new(&code.payload).monospace()).wrap());
        let now = ui.input(|i| i.time);
        ui.horizontal(|ui| {
            if ui.button(lang.pick("复制码内容", "Copy payload")).clicked() {
                ui.ctx().copy_text(code.payload.clone());
                self.copied_at = Some(now);
            }
            if let Some(at) = self.copied_at {
                let left = COPIED_NOTE_SECS - (now - at);
                if left > 0.0 {
                    ui.colored_label(egui::Color32::from_rgb(0, 140, 60), lang.pick("已复制", "Copied"));
                    ui.ctx().request_repaint_after(std::time::Duration::from_secs_f64(left));
                } else {
                    self.copied_at = None;
                }
            }
        });
        ui.add_space(4.0);
        match decode_store_code(&code.payload) {
            Ok(d) => decoded_grid(ui, lang, "store-code-fields", &d),
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, crate::ui::words_setup::code_error_words(&e, lang));
            }
        }
        ui.add_space(4.0);
        let event = self.png.show(ui, ctx, lang.pick("PNG 文件", "PNG file"));
        let save = ui.button(lang.pick("保存为 PNG", "Save as PNG")).clicked();
        if (save || matches!(event, Some(PathEvent::Chosen(_)))) && self.writing.is_none() {
            self.save_png(ctx, &code.payload);
        }
        match &self.saved {
            Some(Ok(m)) => {
                ui.add(
                    egui::Label::new(egui::RichText::new(m.get(lang)).color(egui::Color32::from_rgb(0, 140, 60)))
                        .wrap(),
                );
            }
            Some(Err(e)) => {
                ui.add(egui::Label::new(egui::RichText::new(e.get(lang)).color(ui.visuals().error_fg_color)).wrap());
            }
            None => {}
        }
    }

    /// Writes the code as a PNG where the PNG field says (the folder made if need be), on the queue.
    fn save_png(&mut self, ctx: &mut Ctx, payload: &str) {
        let Some(mut path) = self.png.path() else {
            self.saved = Some(Err(Text::new("请先填写 PNG 文件的路径", "Type where to save the PNG first")));
            return;
        };
        if path.extension().is_none() {
            path.set_extension("png");
            self.png.text = path.display().to_string();
        }
        self.saved = None;
        let payload = payload.to_owned();
        self.writing = Some(ctx.queue.run(move || {
            let png = render_png(&payload, 10, 4).map_err(|e| {
                tracing::warn!(error = %e, "could not render the store code");
                Text::new("无法生成 PNG（详情见日志）", "could not render the PNG (see the log)")
            })?;
            crate::print::write_file(&path, &png).map_err(|e| {
                let shown = path.display();
                let e = match e {
                    crate::print::PrintError::Write { source, .. } => source.to_string(),
                    other => other.to_string(),
                };
                Text::new(format!("无法保存到 {shown}：{e}"), format!("could not save to {shown}: {e}"))
            })?;
            Ok(path)
        }));
    }

    fn checker_section(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let lang = ctx.lang;
        ui.label(
            egui::RichText::new(lang.pick("验码：钱包扫码后会怎样", "Code checker: what a wallet would do")).strong(),
        );
        if let Some(PathEvent::Chosen(path)) =
            self.check_file.show(ui, ctx, lang.pick("待检查的图片", "Picture to check"))
        {
            remember_folder(ctx, &path);
            self.check_payload.clear();
        }
        ui.horizontal_wrapped(|ui| {
            let label = ui.label(lang.pick("待检查的码内容", "Payload to check"));
            ui.add(
                egui::TextEdit::multiline(&mut self.check_payload)
                    .desired_rows(2)
                    .desired_width(ui.available_width().clamp(200.0, 480.0)),
            )
            .labelled_by(label.id);
        });
        let busy = self.check_job.is_some();
        if ui.add_enabled(!busy, egui::Button::new(lang.pick("检查此码", "Check this code"))).clicked() {
            self.start_check(ctx);
        }
        if let Some(job) = &self.check_job
            && show_job(ui, lang, &Text::new("正在查询 CDS 平台", "Looking the code up"), job, &[])
        {
            job.cancel.cancel();
        }
        match &self.check_result {
            Some(Ok(check)) => {
                decoded_grid(ui, lang, "checker-fields", &check.decoded);
                ui.add_space(4.0);
                ui.label(egui::RichText::new(lang.pick("钱包将：", "A wallet would:")).strong());
                for line in check.wallet_lines() {
                    ui.add(egui::Label::new(format!("· {}", line.phrase(lang))).wrap());
                }
            }
            Some(Err(e)) => {
                ui.add(egui::Label::new(egui::RichText::new(e.get(lang)).color(ui.visuals().error_fg_color)).wrap());
            }
            None => {}
        }
    }

    fn start_check(&mut self, ctx: &mut Ctx) {
        // The picture is read and decoded by the job, off the UI thread (a phone photo takes a while).
        let source = if !self.check_payload.trim().is_empty() {
            CodeSource::Payload(self.check_payload.trim().to_owned())
        } else if let Some(path) = self.check_file.path() {
            remember_folder(ctx, &path);
            self.check_file.clear_note();
            CodeSource::File(path)
        } else {
            self.check_result = Some(Err(Text::new(
                "请先打开店铺码图片（在“待检查的图片”框里输入路径，或点“浏览…”）或粘贴码内容",
                "Open the code's picture first (type its path in “Picture to check” or click Browse…), or paste its payload",
            )));
            return;
        };
        let offline = match &source {
            CodeSource::Payload(text) => Some(text.clone()),
            CodeSource::File(_) => None,
        };
        let url = crate::ui::acquirers::platform_url(ctx, self.onboarding_url.as_deref()).ok();
        let title = "Looking the code up".to_owned();
        match Job::spawn(ctx, title, move |_reporter, _cancel| async move {
            let text = source.read().await?;
            let client = match url.as_deref().map(CdsClient::new) {
                Some(Ok(c)) => Some(c),
                _ => None,
            };
            check_code(&text, client.as_ref()).await.map_err(|e| e.text())
        }) {
            Ok(job) => self.check_job = Some(job),
            // No runtime: a pasted code is still decoded (string parsing, instant); a picture waits for the runtime.
            Err(e) => {
                self.check_result = Some(match offline {
                    Some(text) => decode_store_code(&text)
                        .map(|decoded| CodeCheck { decoded, listing: None })
                        .map_err(|e| crate::onboarding::OnboardingError::Code(e).text()),
                    None => Err(Text::new(
                        format!("{}，无法读取图片", e.zh),
                        format!("{}: the picture cannot be read", e.en),
                    )),
                })
            }
        }
    }
}
