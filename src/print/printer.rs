//! Handing a PDF to the system's printing: `lp` (CUPS) on Linux and macOS, the shell's "print" verb on Windows.
//! Every failure says what is missing (no print system, no printer, the printer refused) in plain words.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::PrintError;

/// What the system said when it took the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// For example "request id is Office-12 (1 file(s))".
    pub message: String,
}

/// Sends `pdf` to `printer` (or the default printer) the way this operating system prints.
pub fn print_pdf(pdf: &Path, printer: Option<&str>) -> Result<Submitted, PrintError> {
    #[cfg(windows)]
    {
        let _ = printer;
        shell_print(pdf)
    }
    #[cfg(not(windows))]
    {
        print_with_lp(OsStr::new("lp"), pdf, printer)
    }
}

/// Finds `program` on the PATH (or checks it, when it is a path).
pub fn find_program(program: &OsStr) -> Option<PathBuf> {
    let as_path = Path::new(program);
    if as_path.components().count() > 1 {
        return as_path.is_file().then(|| as_path.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// Prints with CUPS's `lp` (`lp_program` is "lp", or a path to it). Exposed so tests can point it at a stand-in.
pub fn print_with_lp(lp_program: &OsStr, pdf: &Path, printer: Option<&str>) -> Result<Submitted, PrintError> {
    let Some(lp) = find_program(lp_program) else {
        return Err(PrintError::NoPrintSystem {
            detail: format!(
                "the printing command {:?} was not found (install CUPS: the cups-client package on Debian/Ubuntu)",
                lp_program.to_string_lossy()
            ),
        });
    };
    if !pdf.is_file() {
        return Err(PrintError::PrintFailed { detail: format!("{} does not exist", pdf.display()) });
    }
    let mut command = Command::new(&lp);
    if let Some(printer) = printer.filter(|p| !p.trim().is_empty()) {
        command.args(["-d", printer.trim()]);
    }
    command.args(["-t", "TillDesk store codes", "--"]).arg(pdf);
    let output = command
        .output()
        .map_err(|e| PrintError::NoPrintSystem { detail: format!("cannot run {}: {e}", lp.display()) })?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if output.status.success() {
        return Ok(Submitted { message: if stdout.is_empty() { "sent to the printer".into() } else { stdout } });
    }
    let detail = if stderr.is_empty() { format!("lp exited with {}", output.status) } else { stderr };
    // lp ends its sentences with a full stop; the message adds its own.
    let detail = detail.trim_end_matches('.').trim_end().to_owned();
    let lower = detail.to_lowercase();
    if lower.contains("no default destination")
        || lower.contains("does not exist")
        || lower.contains("unknown destination")
        || lower.contains("no such printer")
        || lower.contains("unable to connect")
        || lower.contains("scheduler is not running")
    {
        Err(PrintError::NoPrinter { detail })
    } else {
        Err(PrintError::PrintFailed { detail })
    }
}

/// Windows: asks the program registered for PDFs to print it (ShellExecute with the "print" verb).
#[cfg(windows)]
fn shell_print(pdf: &Path) -> Result<Submitted, PrintError> {
    let path = pdf.display().to_string().replace('\'', "''");
    let output = Command::new("powershell")
        .args(["-NoProfile", "-NonInteractive", "-Command"])
        .arg(format!("Start-Process -FilePath '{path}' -Verb Print -ErrorAction Stop"))
        .output()
        .map_err(|e| PrintError::NoPrintSystem { detail: format!("cannot run PowerShell: {e}") })?;
    if output.status.success() {
        Ok(Submitted { message: "handed to the PDF viewer's print command".into() })
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        Err(PrintError::NoPrintSystem {
            detail: format!(
                "no program that can print PDFs is set up (install a PDF viewer such as SumatraPDF): {stderr}"
            ),
        })
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_lp(dir: &Path, script: &str) -> PathBuf {
        let path = dir.join("lp");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn missing_lp_is_reported_as_no_print_system() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("a.pdf");
        std::fs::write(&pdf, b"%PDF-1.7").unwrap();
        let err = print_with_lp(OsStr::new("/nonexistent/bin/lp"), &pdf, None).unwrap_err();
        assert!(matches!(err, PrintError::NoPrintSystem { .. }));
        let text = err.to_string();
        assert!(
            text.contains("was not found") && text.contains("cups-client") && text.contains("Save the PDF"),
            "{text}"
        );
    }

    #[test]
    fn no_default_printer_is_reported_as_no_printer() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("a.pdf");
        std::fs::write(&pdf, b"%PDF-1.7").unwrap();
        let lp = fake_lp(dir.path(), "echo 'lp: Error - No default destination.' >&2; exit 1");
        let err = print_with_lp(lp.as_os_str(), &pdf, None).unwrap_err();
        assert!(matches!(err, PrintError::NoPrinter { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("no printer is available: lp: Error - No default destination. Add a printer"),
            "{text}"
        );
        assert!(!text.contains(".."), "one full stop: {text}");
    }

    #[test]
    fn a_queued_job_reports_the_request_id_and_passes_the_printer() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("codes.pdf");
        std::fs::write(&pdf, b"%PDF-1.7").unwrap();
        let lp = fake_lp(dir.path(), "echo \"request id is $2-7 (1 file(s)) for $6\"");
        let ok = print_with_lp(lp.as_os_str(), &pdf, Some("Office")).unwrap();
        assert_eq!(ok.message, format!("request id is Office-7 (1 file(s)) for {}", pdf.display()));
    }
}
