//! Secrets at rest: never plaintext, never in the database.
//!
//! The keys that can move money (the Alipay app private key, the WeChat Pay API key) live in an encrypted vault
//! file next to the database: AES-256-GCM under a key derived from the merchant's passphrase with Argon2id (a new
//! random salt per vault, a new random nonce per write). The database holds only a reference per secret (which
//! backend, which entry, a short non-secret fingerprint) in `secret_refs`.
//!
//! The OS keyring (Secret Service, Keychain, Credential Manager) is the preferred backend where one exists; this
//! build carries no keyring client (to keep the dependency tree lean on tills, which rarely run a Secret Service),
//! so [`Backend::detect`] reports the vault and says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngExt as _;
use serde::{Deserialize, Serialize};

/// The vault file inside the data folder.
pub const VAULT_FILE: &str = "secrets.vault";

/// Argon2id cost: 19 MiB, 2 passes, 1 lane (OWASP's recommended minimum).
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the passphrase does not open the secrets file {path} (wrong passphrase, or the file was changed)")]
    WrongPassphrase { path: PathBuf },
    #[error("the passphrase must have at least 8 characters")]
    WeakPassphrase,
    #[error("cannot read the secrets file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write the secrets file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the secrets file {path} is damaged: {detail}")]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot derive the encryption key: {0}")]
    Kdf(String),
}

/// Where secrets are kept on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Keyring,
    /// The encrypted file, with the reason no keyring is used.
    Vault {
        reason: String,
    },
}

impl Backend {
    pub fn detect() -> Backend {
        Backend::Vault {
            reason: "this build has no OS keyring client; secrets are kept in an encrypted file (Argon2id + \
                     AES-256-GCM)"
                .into(),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Keyring => "keyring",
            Backend::Vault { .. } => "vault",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct VaultFile {
    version: u32,
    kdf: String,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    nonce: String,
    ciphertext: String,
}

/// An unlocked vault. The derived key and the secrets stay in memory only while it is open; nothing here is
/// printed by `Debug`.
pub struct Vault {
    path: PathBuf,
    key: [u8; 32],
    salt: Vec<u8>,
    entries: BTreeMap<String, String>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("path", &self.path).field("entries", &self.entries.keys()).finish()
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        self.key = [0; 32];
        for v in self.entries.values_mut() {
            // Overwrite before the memory is freed.
            let n = v.len();
            v.clear();
            v.extend(std::iter::repeat_n('\0', n));
        }
    }
}

fn derive(passphrase: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<[u8; 32], SecretError> {
    let params = argon2::Params::new(m, t, p, Some(32)).map_err(|e| SecretError::Kdf(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    argon.hash_password_into(passphrase.as_bytes(), salt, &mut key).map_err(|e| SecretError::Kdf(e.to_string()))?;
    Ok(key)
}

impl Vault {
    /// The vault of a data folder.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(VAULT_FILE)
    }

    pub fn exists(data_dir: &Path) -> bool {
        Self::path_in(data_dir).is_file()
    }

    /// Opens the vault with the passphrase, creating an empty one (with this passphrase) when there is none.
    pub fn unlock(data_dir: &Path, passphrase: &str) -> Result<Vault, SecretError> {
        let path = Self::path_in(data_dir);
        if !path.exists() {
            if passphrase.chars().count() < 8 {
                return Err(SecretError::WeakPassphrase);
            }
            let salt: Vec<u8> = (0..16).map(|_| rand::rng().random::<u8>()).collect();
            let key = derive(passphrase, &salt, M_COST, T_COST, P_COST)?;
            let vault = Vault { path, key, salt, entries: BTreeMap::new() };
            vault.save()?;
            return Ok(vault);
        }
        let text = std::fs::read_to_string(&path).map_err(|source| SecretError::Read { path: path.clone(), source })?;
        let damaged = |detail: String| SecretError::Damaged { path: path.clone(), detail };
        let file: VaultFile = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
        if file.version != 1 || file.kdf != "argon2id" {
            return Err(damaged(format!("unknown format version {} / kdf {}", file.version, file.kdf)));
        }
        let salt = BASE64.decode(&file.salt).map_err(|e| damaged(format!("salt: {e}")))?;
        let nonce = BASE64.decode(&file.nonce).map_err(|e| damaged(format!("nonce: {e}")))?;
        let ciphertext = BASE64.decode(&file.ciphertext).map_err(|e| damaged(format!("ciphertext: {e}")))?;
        let key = derive(passphrase, &salt, file.m_cost, file.t_cost, file.p_cost)?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|e| SecretError::Kdf(e.to_string()))?;
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce.as_slice()).map_err(|_| damaged("nonce length".into()))?;
        let plain = cipher
            .decrypt(&nonce, ciphertext.as_slice())
            .map_err(|_| SecretError::WrongPassphrase { path: path.clone() })?;
        let entries: BTreeMap<String, String> =
            serde_json::from_slice(&plain).map_err(|e| damaged(format!("contents: {e}")))?;
        Ok(Vault { path, key, salt, entries })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(String::as_str)
    }

    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// Stores a secret and rewrites the file (new nonce; a temporary file renamed over the old one).
    pub fn put(&mut self, name: &str, value: &str) -> Result<(), SecretError> {
        self.entries.insert(name.to_owned(), value.to_owned());
        self.save()
    }

    fn save(&self) -> Result<(), SecretError> {
        let cipher = Aes256Gcm::new_from_slice(&self.key).map_err(|e| SecretError::Kdf(e.to_string()))?;
        let nonce_bytes: [u8; 12] = rand::rng().random();
        let nonce = Nonce::<Aes256Gcm>::from(nonce_bytes);
        let plain = serde_json::to_vec(&self.entries).map_err(|e| SecretError::Kdf(e.to_string()))?;
        let ciphertext =
            cipher.encrypt(&nonce, plain.as_slice()).map_err(|_| SecretError::Kdf("encryption failed".into()))?;
        let file = VaultFile {
            version: 1,
            kdf: "argon2id".into(),
            m_cost: M_COST,
            t_cost: T_COST,
            p_cost: P_COST,
            salt: BASE64.encode(&self.salt),
            nonce: BASE64.encode(nonce_bytes),
            ciphertext: BASE64.encode(ciphertext),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| SecretError::Kdf(e.to_string()))?;
        let tmp = self.path.with_extension("vault.tmp");
        let write = |source| SecretError::Write { path: self.path.clone(), source };
        std::fs::write(&tmp, text).map_err(write)?;
        std::fs::rename(&tmp, &self.path).map_err(write)
    }
}

/// A short, non-secret fingerprint of a value (the first 8 bytes of its SHA-256, hex): enough to tell two keys
/// apart in the settings and the audit log, useless for recovering them.
pub fn fingerprint(value: &[u8]) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(value);
    format!("sha256:{}", hex::encode(&d[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vault_round_trips_and_refuses_the_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Vault::unlock(dir.path(), "short"), Err(SecretError::WeakPassphrase)));
        let mut v = Vault::unlock(dir.path(), "correct horse").unwrap();
        v.put("wechatpay.api_key", "0123456789abcdef0123456789abcdef").unwrap();
        drop(v);
        let bytes = std::fs::read(Vault::path_in(dir.path())).unwrap();
        assert!(!bytes.windows(16).any(|w| w == b"0123456789abcdef"), "never plaintext");
        let v = Vault::unlock(dir.path(), "correct horse").unwrap();
        assert_eq!(v.get("wechatpay.api_key"), Some("0123456789abcdef0123456789abcdef"));
        let err = Vault::unlock(dir.path(), "wrong horse!").unwrap_err();
        assert!(matches!(err, SecretError::WrongPassphrase { .. }), "{err}");
        assert!(!format!("{v:?}").contains("0123456789abcdef"));
    }
}
