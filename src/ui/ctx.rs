//! What every screen gets: the command queue to the core (`ctx.queue`) and plain state — the language, the mode,
//! the signed-in operator, the till, the shell's status. Screens send their database, hashing, signing and file work
//! through the queue and render what comes back.

use crate::config::{self, DataHome, SETTING_LANGUAGE};
use crate::i18n::{Lang, Text};
use crate::model::ChannelMode;
use crate::queue::{Channels, ChannelsError, Core, Queue, QueueError, Ticket};
use crate::store::StoreError;
use crate::ui::words_backoffice::store_error;
use crate::ui::{hotkeys, path_field, words_backend};

/// What every screen may read and change: the command queue, the language and the shell's status.
#[derive(Debug)]
pub struct Ctx {
    /// The data folder. Its `store` is the shell's own connection (start-up, the status bar's services); screens
    /// that have moved onto the queue never touch it while drawing (`thread_role` catches them in debug builds).
    pub home: DataHome,
    /// The one way screens reach the core: commands run off the UI thread, answers come back as tickets.
    pub queue: crate::queue::Queue,
    /// Who is signed in and whether an owner exists, as the permission checks need them (read by the shell between
    /// frames, when the name changes or the staff changed).
    signed: Signed,
    /// Whether the queue has the window's waker.
    queue_woken: bool,
    pub lang: Lang,
    pub mode: ChannelMode,
    /// The signed-in operator's name (Settings → Staff); None: signed out (payments are still taken, recorded
    /// without an operator; refunds, settings, keys, reconciliation and exports are refused once an owner exists).
    pub operator: Option<String>,
    /// Whom the database's audit session was last set for (see [`Ctx::sync_audit_session`]).
    audit_session: Option<Option<String>>,
    /// The shell's reads and writes on the queue (the signed-in record, settings, a cashier's shift).
    pending: Pending,
    pub sync: SyncState,
    /// The last error worth showing in the status bar.
    pub error: Option<crate::i18n::Text>,
    /// The embedded sandbox, when the app runs on it.
    pub sandbox: SandboxStatus,
    /// The one tokio runtime for network and disk work (None in tests that need none).
    pub runtime: Option<tokio::runtime::Handle>,
    /// How the till reaches the acquirers (shown in the status bar).
    pub access: crate::config::AccessMode,
    /// The merchant backend this till is enrolled with (Settings → Access → Merchant backend → Join): every
    /// acquirer is reached through it, with the till's token from the unlocked vault.
    pub backend_url: Option<String>,
    /// The background sync worker and notify listener, once started.
    pub services: Option<crate::sync::Services>,
    /// The services being started off the UI thread.
    pub services_starting: Option<std::sync::mpsc::Receiver<Result<crate::sync::Services, crate::queue::SandboxError>>>,
    /// The live (or merchant backend's) background sync being started on the queue.
    sync_starting: Option<crate::queue::Ticket<Result<crate::sync::Services, ChannelsError>>>,
    /// Which background sync runs: (mode, live keys unlocked) it was started for. None: the app does not manage
    /// one (tests); `main` sets it when it starts the first.
    pub sync_for: Option<(ChannelMode, bool)>,
    /// Goes up whenever the channels may have changed (mode, keys, gateways): screens holding clients rebuild them.
    pub channel_generation: u64,
    /// This till's store and terminal id (Settings → This till); every payment taken here is recorded for them.
    pub till: config::ThisTill,
    /// Whether this window owns the data folder's money path (see `crate::ownership`). Another owner: no payments,
    /// refunds, recovery or sync here, and the screens say where the till is open.
    pub money_path: MoneyPathState,
    /// The chime, the failure beep and the voice announcement (Settings → Sound and voice); tests swap the player.
    pub sound: crate::sound::Sound,
    /// The counter's function keys (Settings → Function keys).
    pub keys: hotkeys::KeyMap,
    /// Light, dark or the system's colours (Settings → Appearance); applied by the shell each time it changes.
    pub theme: config::Theme,
    /// The interface scale in percent (Settings → Appearance, Ctrl+= / Ctrl+- / Ctrl+0).
    pub scale: u16,
    /// The folders files were last opened from or saved to, newest first (see `path_field`).
    pub recent_folders: Vec<std::path::PathBuf>,
}

/// Whether an owner exists, and the signed-in operator's record (None: nobody, or not an active operator).
type SignedRecord = Result<(bool, Option<crate::model::Operator>), StoreError>;

/// The shell's work on the queue, answered between frames.
#[derive(Debug, Default)]
struct Pending {
    /// The signed-in operator's record and whether an owner exists, being read for the name given.
    signed: Option<(Option<String>, Ticket<SignedRecord>)>,
    /// Settings to write, in the order they were changed (key, value, the operator changing it).
    settings: Vec<(&'static str, String, Option<crate::model::OperatorId>)>,
    /// The settings being written.
    writing: Option<Ticket<Result<(), StoreError>>>,
    /// A cashier's shift being opened at sign-in.
    shift: Option<Ticket<Result<Option<crate::shifts::Opened>, crate::shifts::ShiftError>>>,
    /// This till's record, read again after a join.
    till: Option<Ticket<Result<config::ThisTill, StoreError>>>,
}

/// What the window starts with, read on the queue before the first frame.
struct Start {
    till: config::ThisTill,
    lang: Lang,
    mode: ChannelMode,
    access: config::AccessMode,
    backend_url: Option<String>,
    sound: crate::sound::SoundSettings,
    keys: hotkeys::KeyMap,
    theme: config::Theme,
    scale: u16,
    recent_folders: Vec<std::path::PathBuf>,
}

impl Start {
    fn read(session: &mut crate::queue::CoreSession) -> Result<Start, StoreError> {
        let store = &mut session.store;
        Ok(Start {
            till: config::this_till(store)?,
            lang: config::language(store)?,
            mode: config::channel_mode(store)?,
            access: config::access_mode(store)?,
            backend_url: crate::routing::backend::link(store)?.map(|l| l.url),
            sound: crate::sound::SoundSettings::load(store)?,
            keys: hotkeys::KeyMap::load(|key| store.setting(key))?,
            theme: config::theme(store)?,
            scale: config::scale(store)?,
            recent_folders: path_field::recent_folders_from(store.setting(path_field::SETTING_RECENT_FOLDERS)),
        })
    }
}

/// The signed-in operator's record as last read, for [`Ctx::permit`] and the audit session.
#[derive(Debug, Default)]
struct Signed {
    /// The name it was read for; None: never read, or the staff changed since.
    read_for: Option<Option<String>>,
    operator: Option<crate::model::Operator>,
    has_owner: bool,
    /// Read again before the next frame (the record is still used until then).
    stale: bool,
}

/// The window's hold on the data folder's money path.
#[derive(Debug, Default)]
pub enum MoneyPathState {
    /// Not asked (tests that build a `Ctx` by hand): the window acts as the owner.
    #[default]
    Unclaimed,
    Held(crate::ownership::MoneyPath),
    /// Another process holds it.
    Elsewhere(Option<crate::ownership::Owner>),
}

impl MoneyPathState {
    /// The plain words for a window that does not own the money path, or None when it does.
    pub fn elsewhere_words(&self, lang: Lang) -> Option<String> {
        let MoneyPathState::Elsewhere(owner) = self else { return None };
        let who = match owner {
            Some(o) if o.is_window() => lang.pick("另一个 TillDesk 窗口", "another TillDesk window").to_owned(),
            Some(o) => format!("tilldesk {}", o.what),
            None => lang.pick("另一个 TillDesk", "another TillDesk").to_owned(),
        };
        let pid = owner.as_ref().map(|o| o.pid.to_string()).unwrap_or_default();
        Some(match lang {
            Lang::ZhCn => {
                format!("这台收银机已在{who}（进程 {pid}）中打开：请在那里收款和退款，或关闭它后重新打开本窗口。")
            }
            Lang::En => format!(
                "This till is open in {who} (process {pid}): take payments and refunds there, or close it and reopen this window."
            ),
        })
    }
}

pub use crate::app::SandboxStatus;

/// The background sync's state, as the status bar shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    NotStarted,
    Syncing,
    UpToDate,
    Offline,
}

impl SyncState {
    pub(crate) fn label(self, lang: Lang) -> &'static str {
        match self {
            SyncState::NotStarted => lang.pick("未开始", "not started"),
            SyncState::Syncing => lang.pick("同步中", "syncing"),
            SyncState::UpToDate => lang.pick("已是最新", "up to date"),
            SyncState::Offline => lang.pick("离线（收款需要网络）", "offline (payments need the network)"),
        }
    }
}

impl Ctx {
    /// The window's state for the data folder `home`: what it starts with is read through the queue (before the
    /// first frame; the window is not drawn yet).
    pub fn new(home: DataHome) -> Result<Self, QueueError> {
        let queue = Queue::new(Core::new(&home.dir.join(config::DATABASE_FILE)), AUDIT_ACTOR_WINDOW);
        let start = queue.submit(Start::read).wait()??;
        let mut ctx = Ctx {
            home,
            queue,
            signed: Signed::default(),
            queue_woken: false,
            lang: start.lang,
            mode: start.mode,
            operator: None,
            audit_session: None,
            pending: Pending::default(),
            sync: SyncState::NotStarted,
            error: None,
            sandbox: SandboxStatus::Off,
            runtime: None,
            access: start.access,
            backend_url: start.backend_url,
            services: None,
            services_starting: None,
            sync_starting: None,
            sync_for: None,
            channel_generation: 0,
            till: start.till,
            money_path: MoneyPathState::Unclaimed,
            sound: crate::sound::Sound::system(start.sound),
            keys: start.keys,
            theme: start.theme,
            scale: start.scale,
            recent_folders: start.recent_folders,
        };
        // Who is signed in (nobody yet) and whether an owner exists, before the first frame.
        let (_, ticket) = ctx.read_signed();
        ctx.take_signed(ticket.wait());
        Ok(ctx)
    }

    /// Remembers a setting: written on the queue, after the ones changed before it (an audited settings change).
    fn remember(&mut self, key: &'static str, value: String, operator: Option<crate::model::OperatorId>) {
        self.pending.settings.push((key, value, operator));
        self.write_settings();
    }

    /// Writes the settings changed since the last write, one batch at a time so that they land in order.
    fn write_settings(&mut self) {
        if let Some(answer) = crate::queue::poll_slot(&mut self.pending.writing) {
            match answer {
                Ok(Ok(())) => {}
                Ok(Err(e)) => self.error = Some(store_error(&e)),
                Err(e) => tracing::warn!(error = %e, "a setting was not written"),
            }
        }
        if self.pending.writing.is_some() || self.pending.settings.is_empty() {
            return;
        }
        // Audited for whoever is signed in now (the queue's commands carry the operator).
        self.queue.set_operator(self.operator_id());
        let batch = std::mem::take(&mut self.pending.settings);
        self.pending.writing = Some(self.queue.submit(move |s| {
            batch.iter().try_for_each(|(key, value, operator)| s.store.set_setting(key, value, *operator))
        }));
    }

    /// Changes the theme and remembers it (an audited settings change; anyone may, like the language).
    pub fn set_theme(&mut self, theme: config::Theme) {
        self.theme = theme;
        self.remember(config::SETTING_THEME, theme.as_str().to_owned(), None);
    }

    /// Changes the interface scale (percent, kept inside [`config::SCALE_RANGE`]) and remembers it.
    pub fn set_scale(&mut self, percent: u16) {
        let percent = config::clamp_scale(percent);
        if percent == self.scale {
            return;
        }
        self.scale = percent;
        self.remember(config::SETTING_SCALE, percent.to_string(), None);
    }

    /// Says that the mode, keys or gateways changed: clients built before are stale.
    pub fn channels_changed(&mut self) {
        self.channel_generation += 1;
    }

    /// The till has just joined a merchant backend (its settings and routes are written): every channel now goes
    /// through it, and the background sync restarts on it.
    pub fn backend_joined(&mut self, joined: &crate::routing::backend::Joined) {
        self.backend_url = Some(joined.link.url.clone());
        self.access = config::AccessMode::MerchantBackend;
        self.mode = joined.mode;
        self.pending.till = Some(self.queue.submit(|s| config::this_till(&mut s.store)));
        self.channels_changed();
        if let Some(runtime) = &self.runtime
            && let Some(old) = self.services.take()
        {
            runtime.spawn(old.stop());
        }
        if self.sync_for.is_some() {
            self.sync_for = Some((self.mode, false));
        }
    }

    /// Switches between the sandbox and the live gateways, and remembers it (an audited settings change). Refused
    /// (in `error`) unless the signed-in operator may change settings.
    pub fn set_mode(&mut self, mode: ChannelMode) {
        if let Err(e) = self.permit_text(crate::store::operators::Permission::ChangeSettings) {
            self.error = Some(e);
            return;
        }
        self.mode = mode;
        self.error = None;
        self.channels_changed();
        let operator = self.operator_id();
        self.remember(config::SETTING_MODE, mode.as_str().to_owned(), operator);
    }

    /// Signs `operator` in (None: signs out). Every audit entry the window writes afterwards names them.
    pub fn sign_in(&mut self, operator: Option<&crate::model::Operator>) {
        self.operator = operator.map(|o| o.name.clone());
        let has_owner = self.signed.has_owner || operator.is_some();
        self.signed =
            Signed { read_for: Some(self.operator.clone()), operator: operator.cloned(), has_owner, stale: true };
        self.sync_audit_session();
        // A cashier signing in opens their shift at this till when none is open (one small write, on the queue).
        if let Some(op) = operator {
            let (till, op, now) = (self.till.clone(), op.clone(), crate::time::now_utc());
            self.pending.shift =
                Some(self.queue.submit(move |s| crate::shifts::on_sign_in(&mut s.store, &till, &op, &now)));
        }
    }

    /// Keeps the audit session on the signed-in operator, so that changes made in the window that name no operator
    /// themselves are recorded for them (actor "window"): the queue's commands. Called every frame, between frames;
    /// cheap when unchanged. Also takes the answers of the shell's own work on the queue.
    pub fn sync_audit_session(&mut self) {
        self.refresh_signed();
        self.take_answers();
        if !self.sign_in_known() {
            // A new name whose record (and id) is still on its way: nobody's until it comes.
            if self.audit_session.take().is_some() {
                self.queue.set_operator(None);
            }
            return;
        }
        if self.audit_session.as_ref() == Some(&self.operator) {
            return;
        }
        // Every write of the window goes through the queue, whose commands audit as the operator signed in when
        // they were submitted.
        self.queue.set_operator(self.operator_id());
        self.audit_session = Some(self.operator.clone());
    }

    /// The answers of the shell's work on the queue: a shift opened at sign-in, this till's record, written settings.
    fn take_answers(&mut self) {
        match crate::queue::poll_slot(&mut self.pending.shift) {
            Some(Ok(Err(e))) => self.error = Some(crate::i18n::Phrase::text(&e)),
            Some(Err(e)) => tracing::warn!(error = %e, "the shift was not opened at sign-in"),
            Some(Ok(Ok(_))) | None => {}
        }
        match crate::queue::poll_slot(&mut self.pending.till) {
            Some(Ok(Ok(till))) => self.till = till,
            Some(Ok(Err(e))) => self.error = Some(store_error(&e)),
            Some(Err(e)) => tracing::warn!(error = %e, "this till's record was not read"),
            None => {}
        }
        if self.pending.writing.is_some() || !self.pending.settings.is_empty() {
            self.write_settings();
        }
    }

    /// Says that operators were added, changed or deactivated: the signed-in one's record is read again before the
    /// next frame.
    pub fn staff_changed(&mut self) {
        self.signed.stale = true;
    }

    /// Reads the signed-in operator's record and whether an owner exists on the queue when the name changed (a state:
    /// nobody is signed in for the permission checks until the answer comes) or the staff did (the record in hand is
    /// used until the answer comes).
    fn refresh_signed(&mut self) {
        if let Some((name, ticket)) = &mut self.pending.signed {
            if *name != self.operator {
                // A read for a name no longer signed in: not needed.
                self.pending.signed = None;
            } else if let Some(answer) = ticket.poll() {
                self.pending.signed = None;
                self.take_signed(answer);
            }
        }
        if self.operator.is_none() && self.signed.read_for.as_ref() != Some(&None) {
            // Signed out: nobody's record, known at once (whether an owner exists is read again behind it).
            self.signed =
                Signed { read_for: Some(None), operator: None, has_owner: self.signed.has_owner, stale: true };
        }
        if self.pending.signed.is_some()
            || (self.signed.read_for.as_ref() == Some(&self.operator) && !self.signed.stale)
        {
            return;
        }
        // A new name given without signing in (`sign_in` hands over the record it checked): until its record
        // arrives, `signed_in` is nobody and every permission check says the sign-in is being read.
        self.pending.signed = Some(self.read_signed());
    }

    /// Starts reading the signed-in operator's record (and whether an owner exists) on the queue.
    fn read_signed(&self) -> (Option<String>, Ticket<SignedRecord>) {
        let name = self.operator.clone();
        let wanted = name.clone();
        let ticket = self.queue.submit(move |s| {
            let has_owner = s.store.staff().has_owner()?;
            let operator = match &wanted {
                Some(name) => s.store.staff().operator_by_name(name)?.filter(|o| o.active),
                None => None,
            };
            Ok((has_owner, operator))
        });
        (name, ticket)
    }

    /// Keeps the record read for the signed-in name.
    fn take_signed(&mut self, answer: Result<SignedRecord, QueueError>) {
        match answer {
            Ok(Ok((has_owner, operator))) => {
                self.signed = Signed { read_for: Some(self.operator.clone()), operator, has_owner, stale: false };
            }
            Ok(Err(e)) => self.error = Some(store_error(&e)),
            Err(e) => tracing::warn!(error = %e, "the signed-in operator was not read"),
        }
    }

    /// Hands the queue the app's runtime (it may be given after the window is made) and a waker that repaints the
    /// window when an answer arrives.
    pub fn attach_queue(&mut self, egui_ctx: &egui::Context) {
        if self.queue.has_runtime() != self.runtime.is_some() {
            self.queue.set_runtime(self.runtime.clone());
        }
        if !self.queue_woken {
            let repaint = egui_ctx.clone();
            self.queue.set_waker(std::sync::Arc::new(move || repaint.request_repaint()));
            self.queue_woken = true;
        }
    }

    /// The worker's status, when it runs.
    pub fn sync_status(&self) -> Option<crate::sync::SyncStatus> {
        self.services.as_ref().map(|s| s.handle().status())
    }

    /// True when the background sync found the acquirers unreachable: payments need the network.
    pub fn offline(&self) -> bool {
        self.sync == SyncState::Offline
    }

    /// The background sync follows the mode: the sandbox's worker (and notify listener) in sandbox mode, a worker on
    /// the live gateways once the keys are unlocked in live mode, and never the sandbox's worker on live orders. The
    /// channels and the worker's settings are read on the queue.
    fn manage_sync(&mut self) {
        let Some(current) = self.sync_for else { return };
        if matches!(self.money_path, MoneyPathState::Elsewhere(_)) {
            return;
        }
        let joined = self.backend_url.is_some();
        let wanted = (self.mode, (self.mode == ChannelMode::Live || joined) && self.queue.vault_unlocked());
        if current == wanted || self.services_starting.is_some() || self.sync_starting.is_some() {
            return;
        }
        let Some(runtime) = self.runtime.clone() else { return };
        if let Some(old) = self.services.take() {
            runtime.spawn(old.stop());
        }
        self.sync_for = Some(wanted);
        self.sync = SyncState::NotStarted;
        let channels = match self.mode {
            // Through the merchant backend: its channels, and the pull of the store's orders.
            _ if joined => Channels::Backend,
            // `tilldesk sync` uses exactly these channels too: the live profile of the same accounts and routes.
            ChannelMode::Live => Channels::Live,
            ChannelMode::Sandbox => {
                if let Some(rx) = self.sandbox.start_services(&runtime, &self.home.dir) {
                    self.services_starting = Some(rx);
                }
                return;
            }
        };
        if !wanted.1 {
            return;
        }
        let dir = self.home.dir.clone();
        self.sync_starting = Some(self.queue.submit_routed(channels, move |session, router| {
            let settings = crate::sync::SyncSettings::load(&session.store).unwrap_or_default();
            crate::sync::start(&runtime, &dir, router, None, None, settings)
        }));
    }

    /// Picks up the started services and mirrors the worker's status into `sync`.
    pub(crate) fn poll_services(&mut self) {
        self.manage_sync();
        match crate::queue::poll_slot(&mut self.sync_starting) {
            Some(Ok(Ok(services))) => self.services = Some(services),
            Some(Ok(Err(e))) => self.error = Some(words_backend::channels_error(&e)),
            Some(Err(e)) => tracing::warn!(error = %e, "the background sync did not start"),
            None => {}
        }
        if let Some(rx) = &self.services_starting {
            match rx.try_recv() {
                Ok(Ok(services)) => {
                    self.services = Some(services);
                    self.services_starting = None;
                }
                Ok(Err(e)) => {
                    // The detail (the sandbox's or the worker's own words) goes to the log.
                    tracing::warn!(error = %e, "the background sync did not start");
                    self.error = Some(Text::new(
                        "后台同步未能启动（详情见日志）",
                        "The background sync did not start (the log has the detail)",
                    ));
                    self.services_starting = None;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(std::sync::mpsc::TryRecvError::Disconnected) => self.services_starting = None,
            }
        }
        if let Some(status) = self.sync_status() {
            self.sync = match (status.running, status.online) {
                (_, Some(false)) => SyncState::Offline,
                (true, _) => SyncState::Syncing,
                (false, Some(true)) => SyncState::UpToDate,
                (false, None) => SyncState::Syncing,
            };
        }
    }

    /// The embedded sandbox's address once it listens.
    pub fn sandbox_url(&self) -> Option<String> {
        self.sandbox.base_url()
    }

    /// Where this app's channels come from: in sandbox mode the accounts' sandbox profile (the embedded sandbox,
    /// once it listens); in live mode their live profile (the configured gateways, keys from the unlocked vault);
    /// through the merchant backend once joined. Cheap (no SQL): the queue builds the router from it.
    pub fn channels(&self) -> Result<Channels, Text> {
        if self.backend_url.is_some() {
            if !self.queue.vault_unlocked() {
                return Err(words_backend::unlock_first());
            }
            return Ok(Channels::Backend);
        }
        if self.mode == ChannelMode::Live {
            if !self.queue.vault_unlocked() {
                return Err(words_backend::channels_error(&ChannelsError::Locked { backend: false }));
            }
            return Ok(Channels::Live);
        }
        self.sandbox
            .router_builder()
            .map(Channels::Sandbox)
            .ok_or_else(|| words_backend::channels_error(&ChannelsError::NotConnected))
    }

    /// Why the channels cannot be built, in both languages.
    pub fn channels_words(&self, e: &ChannelsError) -> Text {
        words_backend::channels_error(e)
    }

    /// Whether the signed-in operator may do `permission`; the words to show when not, saying whom to sign in as.
    /// Until the first run has created the owner, nobody is asked to sign in.
    pub fn permit(&self, permission: crate::store::operators::Permission) -> Result<(), String> {
        self.permit_text(permission).map_err(|t| t.get(self.lang).to_owned())
    }

    /// [`Ctx::permit`], with the refusal in both languages (to keep in screen state).
    pub fn permit_text(&self, permission: crate::store::operators::Permission) -> Result<(), Text> {
        if self.signed.read_for.as_ref() != Some(&self.operator) {
            return Err(Text::new("正在读取登录信息，请稍候", "Reading who is signed in: try again in a moment"));
        }
        if !self.signed.has_owner {
            return Ok(());
        }
        let signed_in = &self.signed.operator;
        let words = |lang: Lang| {
            let who = allowed_roles(lang, permission);
            let action = permission_label(lang, permission);
            match &signed_in {
                None => match lang {
                    Lang::ZhCn => format!("请以{who}身份登录后再{action}（设置 → 员工）"),
                    Lang::En => format!("Sign in as {who} to {action} (Settings → Staff)"),
                },
                Some(operator) => {
                    let role = role_label(lang, operator.role);
                    match lang {
                        Lang::ZhCn => format!("{}（{role}）无权{action}，请以{who}身份登录", operator.name),
                        Lang::En => format!("{} is a {role} and may not {action}; sign in as {who}", operator.name),
                    }
                }
            }
        };
        if let Some(operator) = signed_in
            && crate::store::operators::role_allows(operator.role, permission)
        {
            return Ok(());
        }
        Err(Text::new(words(Lang::ZhCn), words(Lang::En)))
    }

    /// The signed-in operator's id (None when nobody is signed in).
    pub fn operator_id(&self) -> Option<crate::model::OperatorId> {
        self.signed_in().map(|o| o.id)
    }

    /// Whether the till has an owner yet (before the first run has made one, nobody is asked to sign in).
    pub fn has_owner(&self) -> bool {
        self.signed.has_owner
    }

    /// The signed-in operator's record (None when nobody is signed in, or before the shell has read it).
    /// Whether the signed-in name's record has been read (false for the moment between a new name and its record:
    /// the shell then draws no screen, so that none shows what the name may not see).
    pub fn sign_in_known(&self) -> bool {
        self.signed.read_for.as_ref() == Some(&self.operator)
    }

    pub fn signed_in(&self) -> Option<&crate::model::Operator> {
        if self.signed.read_for.as_ref() != Some(&self.operator) {
            return None;
        }
        self.signed.operator.as_ref()
    }

    /// The signed-in operator when they may see only their own orders (a cashier); None for everyone else.
    pub fn own_orders_only(&self) -> Option<crate::model::OperatorId> {
        let operator = self.signed_in()?;
        crate::store::operators::require(operator, crate::store::operators::Permission::SeeAllOrders)
            .is_err()
            .then_some(operator.id)
    }

    /// Switches the language and remembers it (an audited settings change).
    /// Anyone at the till may switch it: the language is how the screen reads, not how the till works.
    pub fn set_language(&mut self, lang: Lang) {
        self.lang = lang;
        self.error = None;
        self.remember(SETTING_LANGUAGE, lang.tag().to_owned(), None);
    }
}

/// What the window's audit entries carry as their actor.
pub const AUDIT_ACTOR_WINDOW: &str = "window";

/// The roles that may do `permission`, in words ("owner or back office").
pub fn allowed_roles(lang: Lang, permission: crate::store::operators::Permission) -> String {
    use crate::model::Role;
    let roles: Vec<&str> = [Role::Owner, Role::BackOffice, Role::Cashier]
        .into_iter()
        .filter(|r| crate::store::operators::role_allows(*r, permission))
        .map(|r| role_label(lang, r))
        .collect();
    roles.join(lang.pick("或", " or "))
}

/// A staff role in words.
pub fn role_label(lang: Lang, role: crate::model::Role) -> &'static str {
    use crate::model::Role;
    match role {
        Role::Owner => lang.pick("店主", "owner"),
        Role::BackOffice => lang.pick("财务", "back office"),
        Role::Cashier => lang.pick("收银员", "cashier"),
    }
}

/// What a permission allows, in words ("may not …").
pub fn permission_label(lang: Lang, permission: crate::store::operators::Permission) -> &'static str {
    use crate::store::operators::Permission;
    match permission {
        Permission::TakePayments => lang.pick("收款", "take payments"),
        Permission::Refund => lang.pick("退款", "refund"),
        Permission::Reconcile => lang.pick("对账", "reconcile bills"),
        Permission::Export => lang.pick("导出", "export"),
        Permission::SeeAllOrders => lang.pick("查看其他操作员的订单", "see other operators' orders"),
        Permission::ManageStaff => lang.pick("管理员工", "manage staff"),
        Permission::ChangeSettings => lang.pick("更改设置", "change settings"),
        Permission::ViewAudit => lang.pick("查看审计日志", "view the audit log"),
    }
}
