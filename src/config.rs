//! Where TillDesk keeps its data, and the settings read at start-up.

use std::path::{Path, PathBuf};

use crate::i18n::Lang;
use crate::model::ChannelMode;
use crate::private_files::{self, Tightened};
use crate::store::{Store, StoreError};

/// The database file inside the data folder.
pub const DATABASE_FILE: &str = "tilldesk.sqlite3";

/// Setting keys.
pub const SETTING_LANGUAGE: &str = "ui.language";
pub const SETTING_MODE: &str = "channel.mode";
/// `store_direct` (this till calls the acquirer) or `merchant_backend` (it calls the merchant's own backend).
pub const SETTING_ACCESS: &str = "channel.access";
/// The merchant's backend URL, used in merchant-backend access mode.
pub const SETTING_BACKEND_URL: &str = "channel.backend_url";

/// How this till reaches the acquirers, as both seeds describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessMode {
    /// This till calls the acquirer's gateway itself (门店直连).
    #[default]
    StoreDirect,
    /// This till calls the merchant's own backend, which forwards to the acquirer (商户后台转发).
    MerchantBackend,
}

impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::StoreDirect => "store_direct",
            AccessMode::MerchantBackend => "merchant_backend",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "store_direct" => Some(AccessMode::StoreDirect),
            "merchant_backend" => Some(AccessMode::MerchantBackend),
            _ => None,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            AccessMode::StoreDirect => lang.pick("门店直连", "store-direct"),
            AccessMode::MerchantBackend => lang.pick("商户后台转发", "merchant backend"),
        }
    }
}

/// The access mode setting (store-direct unless set).
pub fn access_mode(store: &Store) -> Result<AccessMode, StoreError> {
    Ok(store.setting(SETTING_ACCESS)?.and_then(|m| AccessMode::parse(&m)).unwrap_or_default())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no data folder could be found for this user (no home directory); pass --data-dir DIR or set TILLDESK_DATA_DIR"
    )]
    NoDataDir,
    #[error("cannot create the data folder {path} (or make it private to this user, mode 0700): {source}")]
    CreateDataDir { path: PathBuf, source: std::io::Error },
    #[error("cannot make {path} private to this user (mode 0600): {source}")]
    Permissions { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("there is no store {0:?}; `tilldesk onboard stores` lists them")]
    UnknownStore(String),
    #[error("the terminal id {0:?} must be letters, digits, - and _, at most 32 characters")]
    TerminalId(String),
}

/// The platform data folder (e.g. ~/.local/share/tilldesk on Linux) unless one is given
/// (`--data-dir DIR` or `TILLDESK_DATA_DIR`, which the CLI resolves before calling this).
pub fn resolve_data_dir(given: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = given {
        return Ok(dir.to_owned());
    }
    directories::ProjectDirs::from("com", "TillDesk", "TillDesk")
        .map(|d| d.data_dir().to_owned())
        .ok_or(ConfigError::NoDataDir)
}

/// The data folder and its open database. The first run creates both.
#[derive(Debug)]
pub struct DataHome {
    pub dir: PathBuf,
    pub store: Store,
    /// Paths found with group/other permissions at this open and made private (logged; `tilldesk doctor` shows
    /// them).
    pub tightened: Vec<Tightened>,
}

impl DataHome {
    /// Opens the data folder, creating it (0700) and the database (0600) on the first run; a folder, database,
    /// `-wal`/`-shm` or vault found readable by others is tightened to 0700/0600 first.
    pub fn open(dir: &Path) -> Result<Self, ConfigError> {
        Self::open_at(dir, &dir.join(DATABASE_FILE))
    }

    /// [`DataHome::open`] with the database at `db` instead of the folder's own: a merchant backend's catalogue
    /// (`keys`, `onboard` and `acquirers` given `--database`), with the folder's key vault.
    pub fn open_at(dir: &Path, db: &Path) -> Result<Self, ConfigError> {
        let mut tightened: Vec<Tightened> = private_files::private_dir(dir)
            .map_err(|source| ConfigError::CreateDataDir { path: dir.to_owned(), source })?
            .into_iter()
            .collect();
        let mut files = private_files::database_files(db).to_vec();
        files.push(crate::secrets::Vault::path_in(dir));
        for file in files {
            match private_files::tighten_file(&file) {
                Ok(t) => tightened.extend(t),
                Err(source) => return Err(ConfigError::Permissions { path: file, source }),
            }
        }
        let store = Store::open(db)?;
        Ok(DataHome { dir: dir.to_owned(), store, tightened })
    }
}

/// The UI language: the remembered choice, else the OS locale.
pub fn language(store: &Store) -> Result<Lang, StoreError> {
    Ok(store.setting(SETTING_LANGUAGE)?.and_then(|t| Lang::from_tag(&t)).unwrap_or_else(Lang::from_os))
}

/// Sandbox until live gateways are configured.
pub fn channel_mode(store: &Store) -> Result<ChannelMode, StoreError> {
    Ok(store.setting(SETTING_MODE)?.and_then(|m| ChannelMode::parse(&m)).unwrap_or(ChannelMode::Sandbox))
}

/// The first-run wizard's outcome: `completed` or `skipped` (absent until the wizard was finished or skipped once).
pub const SETTING_FIRST_RUN: &str = "ui.first_run";

/// How the first-run wizard ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstRun {
    Completed,
    Skipped,
}

impl FirstRun {
    pub fn as_str(self) -> &'static str {
        match self {
            FirstRun::Completed => "completed",
            FirstRun::Skipped => "skipped",
        }
    }
}

/// Remembers that the first-run wizard was finished or skipped (an audited settings change).
pub fn set_first_run(store: &mut Store, outcome: FirstRun) -> Result<(), StoreError> {
    store.set_setting(SETTING_FIRST_RUN, outcome.as_str(), None)
}

/// Whether the first-run wizard should open by itself: it was never finished or skipped, and the till has no owner
/// yet (a till set up before the wizard existed is not asked again; Settings can still open it).
pub fn first_run_pending(store: &Store) -> Result<bool, StoreError> {
    Ok(store.setting(SETTING_FIRST_RUN)?.is_none() && !store.staff().has_owner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_run_creates_the_folder_and_database() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested").join("data");
        let home = DataHome::open(&dir).unwrap();
        assert!(dir.join(DATABASE_FILE).is_file());
        assert_eq!(channel_mode(&home.store).unwrap(), ChannelMode::Sandbox);
    }

    #[cfg(unix)]
    #[test]
    fn the_data_folder_and_database_are_private_and_loose_ones_are_tightened() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let home = DataHome::open(&dir).unwrap();
        assert!(home.tightened.is_empty(), "{:?}", home.tightened);
        let db = dir.join(DATABASE_FILE);
        let [_, wal, shm] = private_files::database_files(&db);
        assert_eq!(mode(&dir), 0o700);
        for file in [&db, &wal, &shm] {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
        drop(home);

        // An older install left everything world-readable: the next open tightens it and says so.
        set(&dir, 0o755);
        set(&db, 0o644);
        std::fs::write(dir.join(crate::secrets::VAULT_FILE), b"{}").unwrap();
        set(&dir.join(crate::secrets::VAULT_FILE), 0o644);
        let home = DataHome::open(&dir).unwrap();
        let fixed: Vec<String> = home.tightened.iter().map(|t| t.to_string()).collect();
        assert_eq!(fixed.len(), 3, "{fixed:?}");
        assert!(fixed[0].ends_with("data was 0755, now 0700"), "{fixed:?}");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&dir.join(crate::secrets::VAULT_FILE)), 0o600);
    }

    #[test]
    fn the_language_is_remembered() {
        let mut store = Store::open_in_memory().unwrap();
        store.set_setting(SETTING_LANGUAGE, "en", None).unwrap();
        assert_eq!(language(&store).unwrap(), Lang::En);
        store.set_setting(SETTING_LANGUAGE, "zh-CN", None).unwrap();
        assert_eq!(language(&store).unwrap(), Lang::ZhCn);
    }

    #[test]
    fn the_first_run_is_pending_until_finished_or_skipped_or_an_owner_exists() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(first_run_pending(&store).unwrap());
        set_first_run(&mut store, FirstRun::Skipped).unwrap();
        assert!(!first_run_pending(&store).unwrap());
        assert_eq!(store.setting(SETTING_FIRST_RUN).unwrap().as_deref(), Some("skipped"));

        let mut store = Store::open_in_memory().unwrap();
        store.staff_mut().add_operator("Lin", crate::model::Role::Owner, "246810", None).unwrap();
        assert!(!first_run_pending(&store).unwrap(), "a till set up before the wizard is not asked again");
    }

    #[test]
    fn a_given_folder_wins() {
        let p = Path::new("/tmp/somewhere");
        assert_eq!(resolve_data_dir(Some(p)).unwrap(), p);
    }
}

/// Settings → This till: the store this till takes payments for (its store number) and its terminal id.
pub const SETTING_TILL_STORE: &str = "till.store";
pub const SETTING_TILL_TERMINAL: &str = "till.terminal_id";

/// Where this till stands: the store its payments are taken for, and its terminal id (sent to the acquirers as
/// terminal_id / device_info, shown in the status bar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThisTill {
    pub store_id: crate::model::StoreId,
    pub store_code: String,
    pub terminal_id: Option<String>,
}

/// This till's store and terminal: the store set in Settings → This till, or the first store when none is set (a
/// fresh install's demo store).
pub fn this_till(store: &mut Store) -> Result<ThisTill, StoreError> {
    let chosen = match store.setting(SETTING_TILL_STORE)? {
        Some(code) => store.setup().store_by_code(&code)?,
        None => None,
    };
    let s = match chosen {
        Some(s) => s,
        None => {
            let id = store.setup_mut().default_store()?;
            store.setup().store(id)?.ok_or(StoreError::NotFound { what: "store", key: id.to_string() })?
        }
    };
    let terminal_id = store.setting(SETTING_TILL_TERMINAL)?.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    Ok(ThisTill { store_id: s.id, store_code: s.store_code, terminal_id })
}

/// Sets this till's store (by its number) and terminal id, audited. The terminal id is letters, digits, `-` and
/// `_`, at most 32 characters (WeChat's device_info limit).
pub fn set_this_till(
    store: &mut Store,
    store_code: &str,
    terminal_id: &str,
    operator: Option<crate::model::OperatorId>,
) -> Result<ThisTill, ConfigError> {
    let s = store
        .setup()
        .store_by_code(store_code.trim())?
        .ok_or_else(|| ConfigError::UnknownStore(store_code.trim().to_owned()))?;
    let terminal = terminal_id.trim();
    if terminal.len() > 32 || !terminal.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(ConfigError::TerminalId(terminal.to_owned()));
    }
    store.set_setting(SETTING_TILL_STORE, &s.store_code, operator)?;
    store.set_setting(SETTING_TILL_TERMINAL, terminal, operator)?;
    Ok(this_till(store)?)
}

/// The window's colours: light (the default on a new till: counters stand in bright shops), dark, or whatever the
/// operating system uses.
pub const SETTING_THEME: &str = "ui.theme";
/// The interface scale in percent (see [`SCALE_RANGE`]); 100 unless set.
pub const SETTING_SCALE: &str = "ui.scale";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Light,
    Dark,
    /// Follows the operating system (light where it says nothing).
    System,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::Light, Theme::Dark, Theme::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::System => "system",
        }
    }

    pub fn parse(text: &str) -> Option<Theme> {
        match text.trim() {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            "system" => Some(Theme::System),
            _ => None,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Theme::Light => lang.pick("浅色", "Light"),
            Theme::Dark => lang.pick("深色", "Dark"),
            Theme::System => lang.pick("跟随系统", "Follow the system"),
        }
    }
}

/// The interface scales offered, in percent.
pub const SCALE_RANGE: std::ops::RangeInclusive<u16> = 80..=200;
/// One step of Ctrl+= / Ctrl+- (percent).
pub const SCALE_STEP: u16 = 10;

/// The stored theme (light unless set).
pub fn theme(store: &Store) -> Result<Theme, StoreError> {
    Ok(store.setting(SETTING_THEME)?.and_then(|t| Theme::parse(&t)).unwrap_or_default())
}

/// The stored interface scale in percent (100 unless set; kept inside [`SCALE_RANGE`]).
pub fn scale(store: &Store) -> Result<u16, StoreError> {
    Ok(store.setting(SETTING_SCALE)?.and_then(|s| s.trim().parse::<u16>().ok()).map_or(100, clamp_scale))
}

/// A scale inside [`SCALE_RANGE`].
pub fn clamp_scale(percent: u16) -> u16 {
    percent.clamp(*SCALE_RANGE.start(), *SCALE_RANGE.end())
}

#[cfg(test)]
mod appearance_tests {
    use super::*;

    #[test]
    fn theme_and_scale_have_defaults_and_bounds() {
        let store = Store::open_in_memory().expect("in-memory store");
        assert_eq!(theme(&store).expect("theme"), Theme::Light);
        assert_eq!(scale(&store).expect("scale"), 100);
        for t in Theme::ALL {
            assert_eq!(Theme::parse(t.as_str()), Some(t));
        }
        assert_eq!(clamp_scale(10), 80);
        assert_eq!(clamp_scale(500), 200);
    }
}
