//! Keys kept safe, through the CLI against a sandbox process: after configuring both acquirers' keys (generate,
//! import, API key), testing the connections, taking a payment and syncing with full trace logging, neither the
//! database files nor the log file contain the private keys, the API key or the full payment code.

mod cli_common;

use cli_common::{ok, spawn_sandbox};

use std::path::Path;
use std::process::{Command, Output};

use tilldesk::secrets::Vault;

const PASSPHRASE: &str = "till passphrase 2026";

fn tilldesk(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.arg("--data-dir").arg(home).args(args);
    cmd.env("TILLDESK_PASSPHRASE", PASSPHRASE)
        .env("TILLDESK_LOG", "trace")
        .env("TILLDESK_LOG_FILE", home.join("tilldesk.log"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The base64 body of a PEM, in 40-character pieces (any one of them found is a leak).
fn pieces(pem: &str) -> Vec<String> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    body.as_bytes().chunks(40).filter(|c| c.len() == 40).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn configured_keys_never_reach_the_database_or_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let sb = dir.path().join("sandbox");
    let (mut sandbox, url) = spawn_sandbox(&sb);
    let acc: tilldesk::sandbox::accounts::SandboxAccounts =
        serde_json::from_str(&std::fs::read_to_string(sb.join("sandbox.json")).unwrap()).unwrap();
    let m = &acc.merchants[0];
    let gateway = format!("{url}/gateway.do");

    // Alipay: gateway and app_id, a generated key pair (the sandbox does not know it: the exact error).
    ok(tilldesk(
        &home,
        &["keys", "set", "--acquirer", "alipay", "--gateway-url", &gateway, "--app-id", &m.alipay.app_id],
        &[],
    ));
    let export = dir.path().join("app_public_key.txt");
    let public = ok(tilldesk(&home, &["keys", "generate", "--export", export.to_str().unwrap()], &[]));
    assert!(public.trim().starts_with("MIIBIjAN"), "one line of base64 SubjectPublicKeyInfo: {public}");
    assert_eq!(std::fs::read_to_string(&export).unwrap().trim(), public.trim());
    let platform = dir.path().join("alipay_public_key.pem");
    std::fs::write(&platform, &m.alipay.alipay_public_key_pem).unwrap();
    ok(tilldesk(&home, &["keys", "import-platform-key", platform.to_str().unwrap()], &[]));
    let generated = Vault::unlock(&home, PASSPHRASE).unwrap().get("alipay.app_private_key").unwrap().to_owned();
    let failed = tilldesk(&home, &["keys", "test", "--acquirer", "alipay"], &[]);
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(err.contains("connection test failed") && err.contains("signature"), "{err}");

    // The merchant's registered key imported instead: the test passes.
    let private = dir.path().join("app_private_key.pem");
    std::fs::write(&private, &m.alipay.app_private_key_pkcs8_pem).unwrap();
    ok(tilldesk(&home, &["keys", "import-private-key", private.to_str().unwrap()], &[]));
    std::fs::remove_file(&private).unwrap();
    let passed = ok(tilldesk(&home, &["keys", "test", "--acquirer", "alipay"], &[]));
    assert!(passed.contains("connected"), "{passed}");

    // WeChat Pay: ids and the API key.
    ok(tilldesk(
        &home,
        &[
            "keys",
            "set",
            "--acquirer",
            "wechatpay",
            "--gateway-url",
            &url,
            "--app-id",
            &m.wechatpay.appid,
            "--mch-id",
            &m.wechatpay.mch_id,
        ],
        &[],
    ));
    ok(tilldesk(&home, &["keys", "set-api-key"], &[("TILLDESK_WECHAT_API_KEY", &m.wechatpay.api_key)]));
    assert!(ok(tilldesk(&home, &["keys", "test", "--acquirer", "wechatpay"], &[])).contains("connected"));
    let status = ok(tilldesk(&home, &["keys", "status"], &[]));
    assert!(status.contains("wechatpay.api_key: in vault (sha256:"), "{status}");

    // Work with the till: a payment and a sync pass, all traced.
    let auth_code = "2876344382566439";
    let sandbox_args = ["--sandbox-url", url.as_str(), "--sandbox-data", sb.to_str().unwrap()];
    let mut pay = vec!["pay", "--amount", "8.80", "--auth-code", auth_code];
    pay.extend(sandbox_args);
    ok(tilldesk(&home, &pay, &[]));
    // Live mode: the same till pays through the configured gateways with the vault's keys (no sandbox flags).
    assert!(ok(tilldesk(&home, &["keys", "mode", "live"], &[])).contains("mode: live"));
    let live = ok(tilldesk(&home, &["pay", "--amount", "1.00", "--auth-code", "130000000000000000", "--json"], &[]));
    let live: serde_json::Value = serde_json::from_str(&live).unwrap();
    assert_eq!(live["status"], "PAID", "{live}");
    let locked = tilldesk(
        &home,
        &["pay", "--amount", "1.00", "--auth-code", "130000000000000000"],
        &[("TILLDESK_PASSPHRASE", "wrong passphrase")],
    );
    assert!(!locked.status.success());
    ok(tilldesk(&home, &["keys", "mode", "sandbox"], &[]));
    let mut sync = vec!["sync", "--once"];
    sync.extend(sandbox_args);
    ok(tilldesk(&home, &sync, &[]));
    sandbox.kill().unwrap();
    sandbox.wait().unwrap();

    // Search the bytes.
    let log = std::fs::read(home.join("tilldesk.log")).unwrap();
    assert!(contains(&log, "pay request"), "the log is really written");
    assert!(contains(&log, "287634******6439"), "codes appear masked");
    let mut files = vec![("log", log)];
    for name in ["tilldesk.sqlite3", "tilldesk.sqlite3-wal", "secrets.vault"] {
        if let Ok(bytes) = std::fs::read(home.join(name)) {
            files.push((name, bytes));
        }
    }
    assert!(files.iter().any(|(n, b)| *n == "tilldesk.sqlite3" && !b.is_empty()));
    let mut secrets: Vec<String> = pieces(&generated);
    secrets.extend(pieces(&m.alipay.app_private_key_pkcs8_pem));
    secrets.push(m.wechatpay.api_key.clone());
    secrets.push(auth_code.to_owned());
    for (name, bytes) in &files {
        for s in &secrets {
            assert!(!contains(bytes, s), "{name} contains a secret piece {}…", &s[..6]);
        }
    }
    // The database knows where the secrets are, and nothing more.
    let store = tilldesk::store::Store::open(&home.join("tilldesk.sqlite3")).unwrap();
    let r = store.sync().secret_ref("alipay.app_private_key").unwrap().unwrap();
    assert_eq!(r.backend, "vault");
    assert!(r.fingerprint.starts_with("sha256:"));

    // Everything holding money or secrets is the owner's only: the folder 0700, the files 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&home), 0o700);
        for name in
            ["tilldesk.sqlite3", "tilldesk.sqlite3-wal", "tilldesk.sqlite3-shm", "secrets.vault", "tilldesk.log"]
        {
            let path = home.join(name);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{name}");
            }
        }
        let doctor = ok(tilldesk(&home, &["doctor"], &[]));
        assert!(doctor.contains("permissions:") && !doctor.contains("READABLE BY OTHERS"), "{doctor}");
    }
}
