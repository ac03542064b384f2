//! Playing a WAV file through whatever the machine has, found at run time: no audio library is linked, so building
//! needs nothing beyond the Rust toolchain, and a machine without a player or a sound card is simply silent.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::SoundError;

/// Plays one WAV file to its end (called on the sound thread, never on the UI thread).
pub trait Player: Send + Sync + 'static {
    fn play(&self, wav: &[u8]) -> Result<(), SoundError>;
}

/// Where the file's path goes in a player's arguments (appended when no argument names it).
const FILE: &str = "{file}";

/// A player program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    program: String,
    args: Vec<String>,
}

/// Plays through the first of several player programs that is installed and succeeds.
#[derive(Debug, Clone)]
pub struct CommandPlayer {
    candidates: Vec<Candidate>,
    /// Where to look for the programs (`PATH` when None).
    search_path: Option<OsString>,
}

static NEXT_FILE: AtomicU64 = AtomicU64::new(0);

impl CommandPlayer {
    /// The platform's players: PipeWire's `pw-play`, PulseAudio's `paplay` and ALSA's `aplay` on Linux (tried in
    /// this order; one without a server or device fails and the next is tried), `afplay` on macOS, PowerShell's
    /// `Media.SoundPlayer` on Windows.
    pub fn for_this_platform() -> Self {
        let list: Vec<(&str, Vec<&str>)> = if cfg!(target_os = "macos") {
            vec![("afplay", vec![])]
        } else if cfg!(windows) {
            vec![(
                "powershell.exe",
                vec!["-NoProfile", "-NonInteractive", "-Command", "(New-Object Media.SoundPlayer '{file}').PlaySync()"],
            )]
        } else {
            vec![("pw-play", vec![]), ("paplay", vec![]), ("aplay", vec!["-q"])]
        };
        CommandPlayer::with_candidates(list, None)
    }

    /// Players of our choosing (tests): each program with its arguments, `{file}` standing for the file.
    pub fn with_candidates(list: Vec<(&str, Vec<&str>)>, search_path: Option<OsString>) -> Self {
        let candidates = list
            .into_iter()
            .map(|(p, args)| Candidate { program: p.to_owned(), args: args.into_iter().map(str::to_owned).collect() })
            .collect();
        CommandPlayer { candidates, search_path }
    }

    /// The full path of `program` if it is installed.
    fn find(&self, program: &str) -> Option<PathBuf> {
        let given = Path::new(program);
        if given.components().count() > 1 {
            return given.is_file().then(|| given.to_owned());
        }
        let path = self.search_path.clone().or_else(|| std::env::var_os("PATH"))?;
        std::env::split_paths(&path).find_map(|dir| {
            let full = dir.join(program);
            if full.is_file() {
                return Some(full);
            }
            let exe = dir.join(format!("{program}.exe"));
            exe.is_file().then_some(exe)
        })
    }
}

impl Player for CommandPlayer {
    fn play(&self, wav: &[u8]) -> Result<(), SoundError> {
        let found: Vec<(PathBuf, &Candidate)> =
            self.candidates.iter().filter_map(|c| self.find(&c.program).map(|p| (p, c))).collect();
        if found.is_empty() {
            let tried = self.candidates.iter().map(|c| c.program.as_str()).collect::<Vec<_>>().join(", ");
            return Err(SoundError::NoPlayer { tried });
        }
        let file = std::env::temp_dir().join(format!(
            "tilldesk-sound-{}-{}.wav",
            std::process::id(),
            NEXT_FILE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&file, wav).map_err(|e| SoundError::Failed(format!("{}: {e}", file.display())))?;
        // A player that hangs (a sound server that never answers) is stopped a little after the sound would end.
        let limit = super::wav::duration(wav) + Duration::from_secs(5);
        let mut result = Err(SoundError::Failed("no player succeeded".into()));
        for (program, candidate) in found {
            result = run(&program, candidate, &file, limit);
            if result.is_ok() {
                break;
            }
        }
        let _ = std::fs::remove_file(&file);
        result
    }
}

/// Runs one player on `file`, waiting at most `limit`.
fn run(program: &Path, candidate: &Candidate, file: &Path, limit: Duration) -> Result<(), SoundError> {
    let path = file.to_string_lossy();
    let mut args: Vec<String> = candidate.args.iter().map(|a| a.replace(FILE, &path.replace('\'', "''"))).collect();
    if !candidate.args.iter().any(|a| a.contains(FILE)) {
        args.push(path.into_owned());
    }
    let mut child = Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| SoundError::Failed(format!("{}: {e}", program.display())))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(SoundError::Failed(format!("{} exited with {status}", program.display()))),
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SoundError::Failed(format!("{} did not finish", program.display())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_player_installed_is_an_error_the_caller_may_ignore() {
        let dir = std::env::temp_dir();
        let p = CommandPlayer::with_candidates(
            vec![("tilldesk-no-such-player", vec![]), ("tilldesk-nor-this", vec!["-q"])],
            Some(dir.into_os_string()),
        );
        match p.play(&super::super::wav::header(16_000, 1, 0)) {
            Err(SoundError::NoPlayer { tried }) => assert_eq!(tried, "tilldesk-no-such-player, tilldesk-nor-this"),
            other => panic!("expected NoPlayer, got {other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_failing_player_gives_way_to_the_next_and_the_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("played.wav");
        let script = format!("cp \"$0\" '{}'", out.display());
        let p = CommandPlayer::with_candidates(vec![("false", vec![]), ("sh", vec!["-c", &script, FILE])], None);
        let wav = super::super::wav::header(16_000, 1, 0);
        p.play(&wav).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), wav, "the second player got the file");
        let only_false = CommandPlayer::with_candidates(vec![("false", vec![])], None);
        assert!(matches!(only_false.play(&wav), Err(SoundError::Failed(_))));
    }
}
