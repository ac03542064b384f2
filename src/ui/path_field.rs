//! A file path the person can type, take from the folders used before, or choose in the system's file dialog when
//! the desktop has one. Without a file-dialog portal (a bare X server, a kiosk) rfd answers "nothing chosen" at
//! once; the field then says so and the typed path and the recent folders remain, so no button ever does nothing.
//!
//! The recent folders are kept in the setting `ui.recent_folders` (newest first, at most [`MAX_RECENT`]), shared by
//! every screen that opens or saves files. The system dialog blocks while it is open, so it runs on the command
//! queue ([`crate::queue::Queue::run`]), never on the UI thread or a thread of the field's own.

use std::path::{Path, PathBuf};

use crate::i18n::{Lang, Text};
use crate::ui::Ctx;

/// The setting holding the recent folders, one per line.
pub const SETTING_RECENT_FOLDERS: &str = "ui.recent_folders";
pub const MAX_RECENT: usize = 8;

/// Whether the field names a file to read or a file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Open,
    Save,
}

/// What happened in the field this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathEvent {
    /// The system dialog answered with this path, or Enter was pressed in the field (the text, trimmed, non-empty).
    Chosen(PathBuf),
}

/// The field's state; the screen owns one per path it asks for.
#[derive(Debug)]
pub struct PathField {
    /// What is typed (or was chosen): the path the screen uses.
    pub text: String,
    pick: Pick,
    /// The dialog's filter: its name and the extensions without dots.
    filter: (String, Vec<String>),
    dialog: Option<crate::queue::Ticket<Option<PathBuf>>>,
    note: Option<Text>,
    /// The caption last drawn: the system dialog's title, in the UI's language.
    title: String,
}

impl PathField {
    pub fn new(pick: Pick, filter_name: &str, extensions: &[&str]) -> PathField {
        PathField {
            text: String::new(),
            pick,
            filter: (filter_name.to_owned(), extensions.iter().map(|e| (*e).to_owned()).collect()),
            dialog: None,
            note: None,
            title: String::new(),
        }
    }

    pub fn with_text(mut self, text: impl Into<String>) -> PathField {
        self.text = text.into();
        self
    }

    /// The typed path, trimmed; None when empty.
    pub fn path(&self) -> Option<PathBuf> {
        let t = self.text.trim();
        (!t.is_empty()).then(|| PathBuf::from(t))
    }

    /// Opens the system dialog (as the browse button does), e.g. for a Save… button with no path yet.
    pub fn browse(&mut self, ctx: &Ctx) {
        if self.dialog.is_none() {
            self.open_dialog(ctx);
        }
    }

    /// The note under the field ("no file was chosen …"), if any.
    pub fn note(&self) -> Option<&Text> {
        self.note.as_ref()
    }

    /// Forgets the note (the path was used).
    pub fn clear_note(&mut self) {
        self.note = None;
    }

    /// True while the system dialog is open.
    pub fn dialog_open(&self) -> bool {
        self.dialog.is_some()
    }

    /// Draws `caption`, the path field (its accessible name is the caption), a recent-folders menu and the browse
    /// button, and the note when the dialog chose nothing.
    pub fn show(&mut self, ui: &mut egui::Ui, ctx: &Ctx, caption: &str) -> Option<PathEvent> {
        let lang = ctx.lang;
        caption.clone_into(&mut self.title);
        let mut event = self.poll_dialog(lang);
        let recent = recent_folders(ctx);
        // The field takes what the row leaves beside its caption, the browse button (and the recent folders), so
        // that all stay on one line in a narrow column; at least 140 points, at most 420.
        let caption_width = ui
            .painter()
            .layout_no_wrap(caption.to_owned(), egui::TextStyle::Body.resolve(ui.style()), egui::Color32::WHITE)
            .size()
            .x;
        let beside = caption_width + 100.0 + if recent.is_empty() { 0.0 } else { 160.0 };
        let width = (ui.available_width() - beside).clamp(140.0, 420.0);
        ui.horizontal_wrapped(|ui| {
            let label = ui.label(caption);
            let edit = ui.add(egui::TextEdit::singleline(&mut self.text).desired_width(width)).labelled_by(label.id);
            if edit.lost_focus()
                && ui.input(|i| i.key_pressed(egui::Key::Enter))
                && let Some(p) = self.path()
            {
                event = Some(PathEvent::Chosen(p));
            }
            if !recent.is_empty() {
                let id = ui.make_persistent_id(("recent-folders", caption));
                egui::ComboBox::from_id_salt(id)
                    .selected_text(lang.pick("最近的文件夹", "Recent folders"))
                    .show_ui(ui, |ui| {
                        for folder in &recent {
                            if ui.selectable_label(false, folder.display().to_string()).clicked() {
                                self.text = in_folder(folder, &self.text, self.pick).display().to_string();
                                self.note = None;
                            }
                        }
                    })
                    .response
                    .accessible_name(format!("{}{caption}", lang.pick("最近的文件夹：", "Recent folders: ")));
            }
            // Named with the caption too: a screen with several of these has as many "浏览…" buttons.
            let browse = ui
                .add_enabled(self.dialog.is_none(), egui::Button::new(lang.pick("浏览…", "Browse…")))
                .accessible_name(format!("{} {caption}", lang.pick("浏览…", "Browse…")));
            if browse.clicked() {
                self.open_dialog(ctx);
            }
        });
        if let Some(note) = &self.note {
            ui.label(egui::RichText::new(note.get(lang)).color(ui.visuals().warn_fg_color));
        }
        event
    }

    fn poll_dialog(&mut self, _lang: Lang) -> Option<PathEvent> {
        match crate::queue::poll_slot(&mut self.dialog)? {
            Ok(Some(path)) => {
                self.note = None;
                self.text = path.display().to_string();
                Some(PathEvent::Chosen(path))
            }
            Ok(None) | Err(_) => {
                self.note = Some(Text::new(
                    "没有选择文件。如果没有弹出文件对话框（这台电脑没有文件对话框服务），请在框里输入完整路径，或从“最近的文件夹”中选择。",
                    "No file was chosen. If no file dialog appeared (this desktop has no file-dialog service), type the full path in the field or pick one of the recent folders.",
                ));
                None
            }
        }
    }

    /// Opens the system dialog on the command queue (it blocks until the person answers).
    fn open_dialog(&mut self, ctx: &Ctx) {
        let pick = self.pick;
        let (name, exts) = self.filter.clone();
        let title = self.title.clone();
        let current = self.path();
        self.dialog = Some(ctx.queue.run(move || {
            let mut dialog = rfd::FileDialog::new();
            if !title.is_empty() {
                dialog = dialog.set_title(&title);
            }
            if !exts.is_empty() {
                dialog = dialog.add_filter(&name, &exts);
            }
            if let Some(current) = &current {
                if let Some(dir) = current.parent().filter(|d| d.is_dir()) {
                    dialog = dialog.set_directory(dir);
                }
                if pick == Pick::Save
                    && let Some(file) = current.file_name()
                {
                    dialog = dialog.set_file_name(file.to_string_lossy());
                }
            }
            match pick {
                Pick::Open => dialog.pick_file(),
                Pick::Save => dialog.save_file(),
            }
        }));
        self.note = None;
    }
}

/// `current`'s file name in `folder` (a save keeps its name); for opening, the folder itself with a separator.
fn in_folder(folder: &Path, current: &str, pick: Pick) -> PathBuf {
    let name = Path::new(current.trim()).file_name().map(|n| n.to_owned());
    match (pick, name) {
        (Pick::Save, Some(name)) => folder.join(name),
        _ => folder.join(""),
    }
}

/// The folders files were opened from or saved to, newest first (kept in `Ctx`: read once when the window opens, not
/// from the database on every frame a path field is drawn).
pub fn recent_folders(ctx: &Ctx) -> Vec<PathBuf> {
    ctx.recent_folders.clone()
}

/// The recent folders from the stored setting [`SETTING_RECENT_FOLDERS`] (read by the shell when the window opens;
/// unreadable: none).
pub fn recent_folders_from<E>(stored: Result<Option<String>, E>) -> Vec<PathBuf> {
    let stored = stored.ok().flatten().unwrap_or_default();
    stored.lines().filter(|l| !l.trim().is_empty()).map(PathBuf::from).collect()
}

/// Puts the folder of `path` (a file just opened or saved) first in the recent folders.
pub fn remember_folder(ctx: &mut Ctx, path: &Path) {
    let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) else { return };
    let folders = &mut ctx.recent_folders;
    folders.retain(|f| f != folder);
    folders.insert(0, folder.to_owned());
    folders.truncate(MAX_RECENT);
    let value = folders.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join("\n");
    // Nobody waits for it: the list in `Ctx` is already up to date.
    drop(ctx.queue.submit(move |s| {
        if let Err(e) = s.store.set_setting(SETTING_RECENT_FOLDERS, &value, None) {
            tracing::warn!(error = %e, "could not remember the folder");
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recent_folder_keeps_a_saved_files_name() {
        let f = Path::new("/srv/codes");
        assert_eq!(in_folder(f, "/tmp/x/store-codes.pdf", Pick::Save), PathBuf::from("/srv/codes/store-codes.pdf"));
        assert_eq!(in_folder(f, "", Pick::Save), PathBuf::from("/srv/codes/"));
        assert_eq!(in_folder(f, "/tmp/bill.zip", Pick::Open), PathBuf::from("/srv/codes/"));
    }
}
