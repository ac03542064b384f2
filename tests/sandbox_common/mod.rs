//! What the sandbox's HTTP tests share: a sandbox on a free loopback port with its sandbox.json, the admin calls,
//! and the WeChat signature rule checked by hand (so a bug shared with TillDesk's own signing cannot hide).
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;
use tilldesk::sandbox::{self, RunningSandbox, accounts::SandboxAccounts};

pub struct Sb {
    pub dir: tempfile::TempDir,
    pub running: RunningSandbox,
    pub accounts: SandboxAccounts,
    pub http: reqwest::Client,
}

/// A sandbox in a fresh folder, on 127.0.0.1 and a free port.
pub async fn start() -> Sb {
    let dir = tempfile::tempdir().unwrap();
    let running = sandbox::start(dir.path(), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let accounts: SandboxAccounts =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sandbox.json")).unwrap()).unwrap();
    Sb { dir, running, accounts, http: reqwest::Client::new() }
}

impl Sb {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    pub async fn admin(&self, path: &str, body: Value) -> Value {
        let r = self.http.post(self.url(path)).json(&body).send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    pub async fn ledger(&self) -> Value {
        self.http.get(self.url("/admin/ledger")).send().await.unwrap().json().await.unwrap()
    }
}

/// The documented WeChat rule by hand: sorted non-empty fields but sign, `&key=`, MD5, uppercase hex.
pub fn verify_wechat_by_hand(fields: &BTreeMap<String, String>, api_key: &str) {
    use md5::Digest;
    let joined: Vec<String> =
        fields.iter().filter(|(k, v)| *k != "sign" && !v.is_empty()).map(|(k, v)| format!("{k}={v}")).collect();
    let digest = hex::encode_upper(md5::Md5::digest(format!("{}&key={api_key}", joined.join("&")).as_bytes()));
    assert_eq!(fields.get("sign"), Some(&digest), "the WeChat signature does not verify: {fields:?}");
}
