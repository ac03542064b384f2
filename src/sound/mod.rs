//! Sound at the counter: a chime for a payment, a beep for a failure, and the 收款音箱 voice ("支付宝到账 十二点三四
//! 元") made of bundled recordings. Playing never blocks the caller and never fails loudly: no player program or no
//! audio device, and the till is silent.
//!
//! The clips (assets/sound/, made by scripts/make-sound-clips.sh with espeak-ng and sox) are embedded; an
//! announcement is joined into one WAV in memory ([`wav::join`]) and handed to a [`Player`] on a background thread.
//! The real player ([`CommandPlayer`]) runs what the platform has at run time — `pw-play`, `paplay` or `aplay` on
//! Linux, `afplay` on macOS, PowerShell's SoundPlayer on Windows — so building needs no audio library.

mod player;
pub mod speech;
pub mod wav;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

pub use player::{CommandPlayer, Player};
pub use speech::{Announced, Clip};

use crate::money::Amount;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SoundError {
    #[error("not a 16-bit PCM WAV file: {0}")]
    NotWav(&'static str),
    #[error("the clips differ in sample rate or channels")]
    MixedFormats,
    #[error("nothing to play")]
    NothingToPlay,
    #[error("no sound player was found (tried {tried})")]
    NoPlayer { tried: String },
    #[error("the sound player failed: {0}")]
    Failed(String),
}

/// Setting keys (the settings table).
pub const SETTING_SOUND: &str = "sound.enabled";
pub const SETTING_VOICE: &str = "sound.voice";
pub const SETTING_VOLUME: &str = "sound.volume";

/// Whether the till plays tones and announces payments, and how loud (Settings → Sound and voice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoundSettings {
    /// The chime and the failure beep.
    pub sound: bool,
    /// The voice announcement of a received payment (only with `sound` on).
    pub voice: bool,
    /// 0–100 percent.
    pub volume: u8,
}

impl Default for SoundSettings {
    fn default() -> Self {
        SoundSettings { sound: true, voice: true, volume: 80 }
    }
}

impl SoundSettings {
    /// The stored settings, with the defaults where unset or unreadable.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let mut s = SoundSettings::default();
        let flag = |key, default| -> Result<bool, StoreError> {
            Ok(match store.setting(key)?.as_deref() {
                Some("on") => true,
                Some("off") => false,
                _ => default,
            })
        };
        s.sound = flag(SETTING_SOUND, s.sound)?;
        s.voice = flag(SETTING_VOICE, s.voice)?;
        if let Some(v) = store.setting(SETTING_VOLUME)?.and_then(|v| v.trim().parse::<u8>().ok()) {
            s.volume = v.min(100);
        }
        Ok(s)
    }

    /// Stores the settings (each change an audited settings row).
    pub fn save(&self, store: &mut Store, operator: Option<crate::model::OperatorId>) -> Result<(), StoreError> {
        let word = |on: bool| if on { "on" } else { "off" };
        store.set_setting(SETTING_SOUND, word(self.sound), operator)?;
        store.set_setting(SETTING_VOICE, word(self.voice), operator)?;
        store.set_setting(SETTING_VOLUME, &self.volume.to_string(), operator)
    }
}

/// What the till plays after a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// A payment was received: the chime, then (voice on) "支付宝到账 … 元".
    Paid { wallet: Option<Announced>, amount: Amount },
    /// A payment failed or needs a person.
    Failed,
}

impl Cue {
    /// The clips this cue plays with `settings` (empty: silent).
    pub fn clips(self, settings: SoundSettings) -> Vec<Clip> {
        if !settings.sound || settings.volume == 0 {
            return Vec::new();
        }
        match self {
            Cue::Paid { wallet, amount } => {
                let mut clips = vec![Clip::Chime];
                if settings.voice
                    && let Some(wallet) = wallet
                {
                    clips.extend(speech::announcement(wallet, amount));
                }
                clips
            }
            Cue::Failed => vec![Clip::Fail],
        }
    }
}

/// At most this many cues wait to be played; more are dropped (a stuck player never piles up work).
const QUEUE: usize = 4;

/// The till's sound: settings plus a background thread that plays one cue after another. Cloning shares the thread.
#[derive(Clone)]
pub struct Sound {
    pub settings: SoundSettings,
    queue: SyncSender<(Vec<Clip>, u8)>,
}

impl std::fmt::Debug for Sound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sound").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Sound {
    /// Sound through `player`, on a thread of its own (started now; if it cannot be, the till stays silent).
    pub fn new(player: Arc<dyn Player>, settings: SoundSettings) -> Sound {
        let (queue, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let _ = std::thread::Builder::new().name("sound".into()).spawn(move || play_all(rx, player.as_ref()));
        Sound { settings, queue }
    }

    /// Sound through the platform's player found at run time.
    pub fn system(settings: SoundSettings) -> Sound {
        Sound::new(Arc::new(CommandPlayer::for_this_platform()), settings)
    }

    /// Plays `cue` with the current settings. Returns at once: the joining and playing happen on the sound thread,
    /// and a full queue or a missing player drops the cue silently.
    pub fn play(&self, cue: Cue) {
        let clips = cue.clips(self.settings);
        if clips.is_empty() {
            return;
        }
        match self.queue.try_send((clips, self.settings.volume)) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// Gap between clips of an announcement.
pub const GAP_MS: u32 = 40;

fn play_all(rx: Receiver<(Vec<Clip>, u8)>, player: &dyn Player) {
    while let Ok((clips, volume)) = rx.recv() {
        let bytes: Vec<&[u8]> = clips.iter().map(|c| c.wav()).collect();
        let played = wav::join(&bytes, volume, GAP_MS).and_then(|wav| player.play(&wav));
        if let Err(e) = played {
            tracing::debug!("no sound: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::mpsc::{Sender, channel};

    /// Records what it is asked to play and on which thread; blocks until `release` sends (or is dropped).
    /// What the player was given, and on which thread.
    type Played = (std::thread::ThreadId, Vec<u8>);

    struct Recorder {
        played: Mutex<Sender<Played>>,
        release: Mutex<Receiver<()>>,
    }

    impl Player for Recorder {
        fn play(&self, wav: &[u8]) -> Result<(), SoundError> {
            if let Ok(tx) = self.played.lock() {
                let _ = tx.send((std::thread::current().id(), wav.to_vec()));
            }
            if let Ok(rx) = self.release.lock() {
                let _ = rx.recv();
            }
            Ok(())
        }
    }

    fn recorder() -> (Arc<Recorder>, Receiver<Played>, Sender<()>) {
        let (played_tx, played) = channel();
        let (release, release_rx) = channel();
        (Arc::new(Recorder { played: Mutex::new(played_tx), release: Mutex::new(release_rx) }), played, release)
    }

    #[test]
    fn a_payment_plays_the_chime_and_the_announcement_off_the_callers_thread() {
        let (player, played, release) = recorder();
        let sound = Sound::new(player, SoundSettings { sound: true, voice: true, volume: 100 });
        let amount = Amount::parse("12.34").unwrap();
        sound.play(Cue::Paid { wallet: Some(Announced::Alipay), amount });
        // The player is stuck on the first cue: more cues neither block nor pile up.
        for _ in 0..20 {
            sound.play(Cue::Failed);
        }
        let (thread, wav) = played.recv().unwrap();
        assert_ne!(thread, std::thread::current().id());
        let mut clips = vec![Clip::Chime];
        clips.extend(speech::announcement(Announced::Alipay, amount));
        let bytes: Vec<&[u8]> = clips.iter().map(|c| c.wav()).collect();
        assert_eq!(wav, wav::join(&bytes, 100, GAP_MS).unwrap());
        drop(release);
    }

    #[test]
    fn settings_choose_what_is_played() {
        let amount = Amount::parse("1").unwrap();
        let paid = Cue::Paid { wallet: Some(Announced::WechatPay), amount };
        let on = SoundSettings { sound: true, voice: true, volume: 80 };
        assert_eq!(speech::spoken(&paid.clips(on)), "♪微信收款一元");
        assert_eq!(paid.clips(SoundSettings { voice: false, ..on }), [Clip::Chime]);
        assert!(paid.clips(SoundSettings { sound: false, ..on }).is_empty());
        assert!(paid.clips(SoundSettings { volume: 0, ..on }).is_empty());
        assert_eq!(Cue::Failed.clips(on), [Clip::Fail]);
        assert_eq!(Cue::Paid { wallet: None, amount }.clips(on), [Clip::Chime]);
    }

    #[test]
    fn the_volume_scales_what_the_player_gets() {
        let (player, played, release) = recorder();
        let sound = Sound::new(player, SoundSettings { sound: true, voice: false, volume: 50 });
        sound.play(Cue::Failed);
        let (_, wav) = played.recv().unwrap();
        assert_eq!(wav, wav::join(&[Clip::Fail.wav()], 50, GAP_MS).unwrap());
        assert_ne!(wav, wav::join(&[Clip::Fail.wav()], 100, GAP_MS).unwrap());
        drop(release);
    }

    #[test]
    fn without_a_player_the_till_is_silent_and_play_returns_at_once() {
        let player =
            CommandPlayer::with_candidates(vec![("tilldesk-no-such-player", vec![])], Some(std::ffi::OsString::new()));
        let sound = Sound::new(Arc::new(player), SoundSettings::default());
        // Returns without waiting for anything; the sound thread finds no player and carries on.
        for _ in 0..10 {
            sound.play(Cue::Failed);
        }
    }

    #[test]
    fn settings_round_trip_through_the_settings_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.sqlite3")).unwrap();
        assert_eq!(SoundSettings::load(&store).unwrap(), SoundSettings::default());
        let s = SoundSettings { sound: true, voice: false, volume: 35 };
        s.save(&mut store, None).unwrap();
        assert_eq!(SoundSettings::load(&store).unwrap(), s);
        assert_eq!(store.setting(SETTING_VOICE).unwrap().as_deref(), Some("off"));
    }
}
