//! Where receipt bytes go: a network printer's raw port (`tcp://HOST:9100`: connect, write, close = one job), a CUPS
//! queue (`lp -d QUEUE -o raw`, the bytes on stdin), or a file. Blocking: call these off the UI thread.

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::ReceiptError;

/// How long connecting to and writing to a network printer may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// The raw printing port (JetDirect / AppSocket).
pub const RAW_PORT: u16 = 9100;

/// A receipt printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A network printer taking raw ESC/POS on a TCP port.
    Tcp { host: String, port: u16 },
    /// A CUPS queue (a raw queue for ESC/POS).
    Cups(String),
}

impl Target {
    /// `tcp://HOST[:PORT]` (port 9100 when left out) or `cups:QUEUE` / `cups://QUEUE`.
    pub fn parse(text: &str) -> Result<Target, ReceiptError> {
        let t = text.trim();
        let bad = || ReceiptError::BadPrinter { given: text.to_owned() };
        if let Some(rest) = t.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            // [v6]:port, host:port or host.
            let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
                let (host, after) = v6.split_once(']').ok_or_else(bad)?;
                let port = after.strip_prefix(':').map_or(Ok(RAW_PORT), |p| p.parse::<u16>().map_err(|_| bad()))?;
                (host.to_owned(), port)
            } else {
                match rest.rsplit_once(':') {
                    Some((h, p)) => (h.to_owned(), p.parse::<u16>().map_err(|_| bad())?),
                    None => (rest.to_owned(), RAW_PORT),
                }
            };
            let valid = !host.is_empty()
                && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
                && port != 0;
            return if valid { Ok(Target::Tcp { host, port }) } else { Err(bad()) };
        }
        let queue = t.strip_prefix("cups://").or_else(|| t.strip_prefix("cups:")).ok_or_else(bad)?;
        let valid =
            !queue.is_empty() && queue.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
        if valid { Ok(Target::Cups(queue.to_owned())) } else { Err(bad()) }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Target::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Target::Cups(queue) => write!(f, "cups:{queue}"),
        }
    }
}

/// Sends ESC/POS `bytes` to `target` as one job.
pub fn send(target: &Target, bytes: &[u8], timeout: Duration) -> Result<(), ReceiptError> {
    match target {
        Target::Tcp { host, port } => send_tcp(host, *port, bytes, timeout),
        Target::Cups(queue) => send_cups("lp", queue, bytes),
    }
}

/// Connects to `host:port` (each address it resolves to, within `timeout`), writes `bytes` and closes.
pub fn send_tcp(host: &str, port: u16, bytes: &[u8], timeout: Duration) -> Result<(), ReceiptError> {
    let address = Target::Tcp { host: host.to_owned(), port }.to_string();
    let unreachable = |source| ReceiptError::Unreachable { address: address.clone(), source };
    let addrs: Vec<_> = (host, port).to_socket_addrs().map_err(unreachable)?.collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "the name resolves to no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let mut stream = stream.ok_or_else(|| unreachable(last))?;
    let send_err = |source| ReceiptError::Send { address: address.clone(), source };
    stream.set_write_timeout(Some(timeout)).map_err(send_err)?;
    stream.write_all(bytes).map_err(send_err)?;
    stream.flush().map_err(send_err)?;
    stream.shutdown(std::net::Shutdown::Write).map_err(send_err)?;
    Ok(())
}

/// Prints raw `bytes` on CUPS queue `queue` with `lp_program` (`lp`, or a stand-in in tests).
pub fn send_cups(lp_program: &str, queue: &str, bytes: &[u8]) -> Result<(), ReceiptError> {
    let cups = |detail: String| ReceiptError::Cups { queue: queue.to_owned(), detail };
    let mut child = Command::new(lp_program)
        .args(["-d", queue, "-o", "raw", "-t", "TillDesk receipt", "--", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| cups(format!("cannot run {lp_program} (install CUPS: the cups-client package): {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(bytes).map_err(|e| cups(format!("cannot hand the receipt to {lp_program}: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| cups(e.to_string()))?;
    if out.status.success() { Ok(()) } else { Err(cups(String::from_utf8_lossy(&out.stderr).trim().to_owned())) }
}

/// Prints a receipt PDF on CUPS queue `queue` (the system's usual PDF printing, for a queue with a driver).
pub fn print_pdf_cups(queue: &str, pdf: &Path) -> Result<(), ReceiptError> {
    crate::print::printer::print_pdf(pdf, Some(queue))
        .map(|_| ())
        .map_err(|e| ReceiptError::Cups { queue: queue.to_owned(), detail: e.to_string() })
}

/// Writes `bytes` to `path` (through a temporary file, so a failure leaves no half file).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReceiptError> {
    crate::print::write_atomically(path, bytes).map_err(|e| match e {
        crate::print::PrintError::Write { path, source } => ReceiptError::Write { path, source },
        other => ReceiptError::from(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_addresses() {
        assert_eq!(
            Target::parse("tcp://192.168.1.50").unwrap(),
            Target::Tcp { host: "192.168.1.50".into(), port: 9100 }
        );
        assert_eq!(Target::parse("tcp://pos-printer:9101").unwrap().to_string(), "tcp://pos-printer:9101");
        assert_eq!(Target::parse("tcp://[::1]:9100").unwrap(), Target::Tcp { host: "::1".into(), port: 9100 });
        assert_eq!(Target::parse("cups:till").unwrap(), Target::Cups("till".into()));
        assert_eq!(Target::parse("cups://till").unwrap().to_string(), "cups:till");
        for bad in ["", "192.168.1.50", "tcp://", "tcp://host:x", "tcp://a b", "cups:", "cups:a;rm"] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_unreachable_printer_names_its_address() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = send_tcp("127.0.0.1", port, b"x", Duration::from_secs(2)).unwrap_err();
        assert!(e.to_string().contains(&format!("tcp://127.0.0.1:{port}")), "{e}");
    }
}
