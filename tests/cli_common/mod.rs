//! What the tests that run the `tilldesk` binary share: a stand-alone sandbox process, a running backend (`serve`),
//! and reading a command's output as success or failure.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// A `tilldesk sandbox` process on a free port, and its base URL (from its first line).
pub fn spawn_sandbox(data: &Path) -> (Child, String) {
    use std::io::BufRead as _;
    let mut sandbox = Command::new(env!("CARGO_BIN_EXE_tilldesk"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(sandbox.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (sandbox, line.trim().trim_start_matches("listening on ").to_owned())
}

/// The command's stdout; fails the test, showing both streams, when it did not succeed.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "expected success; stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command's stderr; fails the test when it succeeded.
pub fn fails(out: Output) -> String {
    assert!(!out.status.success(), "should fail: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running `tilldesk serve`, killed when the test ends, however it ends.
pub struct Serving(pub Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` (a `tilldesk … serve --listen …`) and reads its first line: the URL it says it listens on.
pub fn serve(mut command: Command) -> (Serving, String) {
    use std::io::BufRead as _;
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let serving = Serving(child);
    let mut first = String::new();
    std::io::BufReader::new(stdout).read_line(&mut first).unwrap();
    let url = first.trim_end().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {first:?}"));
    (serving, url.to_owned())
}
