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
//!
//! The vault file is 0600 in a 0700 folder ([`crate::private_files`]); it names the Argon2id parameters its key was
//! derived with, bounded when read, and written back unchanged by every save (temporary file, fsync, rename, fsync
//! of the folder). In memory, the derived key, the decrypted contents and every [`Secret`] are wiped when dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngExt as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The vault file inside the data folder.
pub const VAULT_FILE: &str = "secrets.vault";

/// Argon2id cost of a new vault: 19 MiB, 2 passes, 1 lane (OWASP's recommended minimum). An existing vault keeps the
/// parameters written in its file (they are what its key was derived with).
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// The Argon2id parameters a vault file may ask for. Outside these the file is refused before anything is derived:
/// a damaged or hostile file must not make the till allocate gigabytes or hash for an hour.
const M_COST_RANGE: std::ops::RangeInclusive<u32> = 8 * 1024..=1024 * 1024; // KiB: 8 MiB ..= 1 GiB
const T_COST_RANGE: std::ops::RangeInclusive<u32> = 1..=16;
const P_COST_RANGE: std::ops::RangeInclusive<u32> = 1..=16;

/// A secret value (a private key, an API key, a passphrase) held in memory: wiped when dropped, and `Debug` shows
/// only whether it is empty. [`Secret::expose`] is the one way to its text, for signing and for the vault file.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// The secret's text, for the code that must use it (signing, the wire, the vault).
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_empty() { "Secret(<empty>)" } else { "Secret(<redacted>)" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

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
    #[error(
        "the secrets file {path} asks for the key derivation parameter {field} = {value}, outside {min}..={max}: the \
         file is damaged or was written by an unknown version; nothing was derived"
    )]
    KdfParameter { path: PathBuf, field: &'static str, value: u32, min: u32, max: u32 },
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

/// The Argon2id parameters a vault's key was derived with (memory in KiB, passes, lanes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KdfParams {
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
}

impl KdfParams {
    const NEW: KdfParams = KdfParams { m_cost: M_COST, t_cost: T_COST, p_cost: P_COST };

    /// The parameters of a vault file, refused with the field's name when outside the bounds.
    fn checked(file: &VaultFile, path: &Path) -> Result<KdfParams, SecretError> {
        for (field, value, range) in [
            ("m_cost", file.m_cost, &M_COST_RANGE),
            ("t_cost", file.t_cost, &T_COST_RANGE),
            ("p_cost", file.p_cost, &P_COST_RANGE),
        ] {
            if !range.contains(&value) {
                return Err(SecretError::KdfParameter {
                    path: path.to_owned(),
                    field,
                    value,
                    min: *range.start(),
                    max: *range.end(),
                });
            }
        }
        Ok(KdfParams { m_cost: file.m_cost, t_cost: file.t_cost, p_cost: file.p_cost })
    }
}

/// An unlocked vault. The derived key and the secrets stay in memory only while it is open and are wiped when it
/// is dropped; `Debug` shows the path and the entries' names only.
pub struct Vault {
    path: PathBuf,
    key: Zeroizing<[u8; 32]>,
    salt: Vec<u8>,
    /// What the key was derived with: written back unchanged by every save.
    kdf: KdfParams,
    entries: BTreeMap<String, Secret>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("path", &self.path).field("entries", &self.entries.keys()).finish()
    }
}

fn derive(passphrase: &str, salt: &[u8], kdf: KdfParams) -> Result<Zeroizing<[u8; 32]>, SecretError> {
    crate::thread_role::assert_off_ui("Argon2 key derivation");
    let params = argon2::Params::new(kdf.m_cost, kdf.t_cost, kdf.p_cost, Some(32))
        .map_err(|e| SecretError::Kdf(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut_slice())
        .map_err(|e| SecretError::Kdf(e.to_string()))?;
    Ok(key)
}

/// The entries as JSON in a buffer that is wiped when dropped, sized up front so that no reallocation leaves a
/// copy behind in freed memory.
fn entries_json(entries: &BTreeMap<String, Secret>) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    // JSON escapes at most 6 bytes per input byte (\u00XX), plus quotes, colon and comma per entry.
    let capacity = 2 + entries.iter().map(|(k, v)| 6 * (k.len() + v.expose().len()) + 6).sum::<usize>();
    let mut plain = Zeroizing::new(Vec::with_capacity(capacity));
    serde_json::to_writer(&mut *plain, entries).map_err(|e| SecretError::Kdf(e.to_string()))?;
    Ok(plain)
}

impl Vault {
    /// The vault of a data folder.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(VAULT_FILE)
    }

    pub fn exists(data_dir: &Path) -> bool {
        Self::path_in(data_dir).is_file()
    }

    /// Opens the vault with the passphrase, creating an empty one (with this passphrase) when there is none. The
    /// vault's folder is made 0700 and the file 0600 (tightened, and logged, when found looser).
    pub fn unlock(data_dir: &Path, passphrase: &str) -> Result<Vault, SecretError> {
        let path = Self::path_in(data_dir);
        let private = |source| SecretError::Write { path: path.clone(), source };
        crate::private_files::private_dir(data_dir).map_err(private)?;
        if !path.exists() {
            if passphrase.chars().count() < 8 {
                return Err(SecretError::WeakPassphrase);
            }
            let salt: Vec<u8> = (0..16).map(|_| rand::rng().random::<u8>()).collect();
            let kdf = KdfParams::NEW;
            let key = derive(passphrase, &salt, kdf)?;
            let vault = Vault { path, key, salt, kdf, entries: BTreeMap::new() };
            vault.save()?;
            return Ok(vault);
        }
        crate::private_files::tighten_file(&path).map_err(private)?;
        let text = std::fs::read_to_string(&path).map_err(|source| SecretError::Read { path: path.clone(), source })?;
        let damaged = |detail: String| SecretError::Damaged { path: path.clone(), detail };
        let file: VaultFile = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
        if file.version != 1 || file.kdf != "argon2id" {
            return Err(damaged(format!("unknown format version {} / kdf {}", file.version, file.kdf)));
        }
        let kdf = KdfParams::checked(&file, &path)?;
        let salt = BASE64.decode(&file.salt).map_err(|e| damaged(format!("salt: {e}")))?;
        let nonce = BASE64.decode(&file.nonce).map_err(|e| damaged(format!("nonce: {e}")))?;
        let ciphertext = BASE64.decode(&file.ciphertext).map_err(|e| damaged(format!("ciphertext: {e}")))?;
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce.as_slice()).map_err(|_| damaged("nonce length".into()))?;
        let key = derive(passphrase, &salt, kdf)?;
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|e| SecretError::Kdf(e.to_string()))?;
        let plain = Zeroizing::new(
            cipher
                .decrypt(&nonce, ciphertext.as_slice())
                .map_err(|_| SecretError::WrongPassphrase { path: path.clone() })?,
        );
        // The strings move into `Secret`s without another copy.
        let entries: BTreeMap<String, String> =
            serde_json::from_slice(&plain).map_err(|e| damaged(format!("contents: {e}")))?;
        let entries = entries.into_iter().map(|(k, v)| (k, Secret::new(v))).collect();
        Ok(Vault { path, key, salt, kdf, entries })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(Secret::expose)
    }

    /// The secret itself, to keep beside a client (wiped when dropped, masked in `Debug`).
    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.entries.get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// Stores a secret and rewrites the file (new nonce; a temporary file renamed over the old one).
    pub fn put(&mut self, name: &str, value: &str) -> Result<(), SecretError> {
        self.entries.insert(name.to_owned(), Secret::from(value));
        self.save()
    }

    /// Encrypts the entries under the vault's key and replaces the file durably: a 0600 temporary file written and
    /// flushed to disk, renamed over the old one, then the folder flushed (so that a power cut leaves the old vault
    /// or the new one, never an empty or half-written file).
    fn save(&self) -> Result<(), SecretError> {
        use std::io::Write as _;
        let cipher = Aes256Gcm::new_from_slice(self.key.as_slice()).map_err(|e| SecretError::Kdf(e.to_string()))?;
        let nonce_bytes: [u8; 12] = rand::rng().random();
        let nonce = Nonce::<Aes256Gcm>::from(nonce_bytes);
        let plain = entries_json(&self.entries)?;
        let ciphertext =
            cipher.encrypt(&nonce, plain.as_slice()).map_err(|_| SecretError::Kdf("encryption failed".into()))?;
        let file = VaultFile {
            version: 1,
            kdf: "argon2id".into(),
            // What this vault's key was derived with, not today's defaults.
            m_cost: self.kdf.m_cost,
            t_cost: self.kdf.t_cost,
            p_cost: self.kdf.p_cost,
            salt: BASE64.encode(&self.salt),
            nonce: BASE64.encode(nonce_bytes),
            ciphertext: BASE64.encode(ciphertext),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| SecretError::Kdf(e.to_string()))?;
        let tmp = self.path.with_extension("vault.tmp");
        let write = |source| SecretError::Write { path: self.path.clone(), source };
        let mut out = crate::private_files::create_private_file(&tmp).map_err(write)?;
        out.write_all(text.as_bytes()).map_err(write)?;
        out.sync_all().map_err(write)?;
        drop(out);
        std::fs::rename(&tmp, &self.path).map_err(write)?;
        if let Some(dir) = self.path.parent() {
            crate::private_files::sync_dir(dir).map_err(write)?;
        }
        Ok(())
    }
}

/// Reads a passphrase (or another secret) from an environment variable into memory that is wiped when dropped.
pub fn passphrase_from_env(var: &str) -> Option<Zeroizing<String>> {
    std::env::var(var).ok().map(Zeroizing::new)
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
        assert!(!format!("{:?}", v.secret("wechatpay.api_key")).contains("0123456789abcdef"));
    }

    /// Writes a vault file by hand with the given Argon2 parameters (as a future or older version might have).
    fn write_vault(dir: &Path, passphrase: &str, kdf: KdfParams, entries: &[(&str, &str)]) {
        let salt = b"0123456789abcdef".to_vec();
        let key = derive(passphrase, &salt, kdf).unwrap();
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).unwrap();
        let nonce_bytes = [7u8; 12];
        let map: BTreeMap<&str, &str> = entries.iter().copied().collect();
        let plain = serde_json::to_vec(&map).unwrap();
        let ciphertext = cipher.encrypt(&Nonce::<Aes256Gcm>::from(nonce_bytes), plain.as_slice()).unwrap();
        let file = VaultFile {
            version: 1,
            kdf: "argon2id".into(),
            m_cost: kdf.m_cost,
            t_cost: kdf.t_cost,
            p_cost: kdf.p_cost,
            salt: BASE64.encode(&salt),
            nonce: BASE64.encode(nonce_bytes),
            ciphertext: BASE64.encode(ciphertext),
        };
        std::fs::write(Vault::path_in(dir), serde_json::to_string(&file).unwrap()).unwrap();
    }

    fn file_params(dir: &Path) -> (u32, u32, u32) {
        let file: VaultFile = serde_json::from_str(&std::fs::read_to_string(Vault::path_in(dir)).unwrap()).unwrap();
        (file.m_cost, file.t_cost, file.p_cost)
    }

    #[test]
    fn a_save_keeps_the_parameters_the_key_was_derived_with() {
        let dir = tempfile::tempdir().unwrap();
        // Not today's defaults: a vault from another version.
        let other = KdfParams { m_cost: 8 * 1024, t_cost: 3, p_cost: 2 };
        assert_ne!(other, KdfParams::NEW);
        write_vault(dir.path(), "correct horse", other, &[("alipay.app_auth_token", "tok1")]);
        let mut v = Vault::unlock(dir.path(), "correct horse").unwrap();
        v.put("wechatpay.api_key", "0123456789abcdef0123456789abcdef").unwrap();
        drop(v);
        assert_eq!(file_params(dir.path()), (8 * 1024, 3, 2), "the file still names what its key was derived with");
        let v = Vault::unlock(dir.path(), "correct horse").expect("still opens after a save");
        assert_eq!(v.get("alipay.app_auth_token"), Some("tok1"));
        assert_eq!(v.get("wechatpay.api_key"), Some("0123456789abcdef0123456789abcdef"));

        let fresh = tempfile::tempdir().unwrap();
        drop(Vault::unlock(fresh.path(), "correct horse").unwrap());
        assert_eq!(file_params(fresh.path()), (M_COST, T_COST, P_COST), "a new vault gets today's defaults");
    }

    #[test]
    fn absurd_kdf_parameters_are_refused_before_deriving() {
        for (field, kdf) in [
            ("m_cost", KdfParams { m_cost: u32::MAX, ..KdfParams::NEW }),
            ("m_cost", KdfParams { m_cost: 8, ..KdfParams::NEW }),
            ("t_cost", KdfParams { t_cost: 1_000_000, ..KdfParams::NEW }),
            ("t_cost", KdfParams { t_cost: 0, ..KdfParams::NEW }),
            ("p_cost", KdfParams { p_cost: 4096, ..KdfParams::NEW }),
        ] {
            let dir = tempfile::tempdir().unwrap();
            // Written with sane parameters, then the field altered: deriving with it would take hours or gigabytes.
            write_vault(dir.path(), "correct horse", KdfParams::NEW, &[]);
            let path = Vault::path_in(dir.path());
            let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let value = match field {
                "m_cost" => kdf.m_cost,
                "t_cost" => kdf.t_cost,
                _ => kdf.p_cost,
            };
            json[field] = value.into();
            std::fs::write(&path, json.to_string()).unwrap();
            let err = Vault::unlock(dir.path(), "correct horse").unwrap_err();
            assert!(
                matches!(&err, SecretError::KdfParameter { field: f, value: v, .. } if *f == field && *v == value),
                "{err:?}"
            );
            let text = err.to_string();
            assert!(
                text.contains(&path.display().to_string()) && text.contains(&format!("{field} = {value}")),
                "{text}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_vault_is_0600_in_a_0700_folder_and_loose_ones_are_tightened() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("till");
        let mut v = Vault::unlock(&dir, "correct horse").unwrap();
        v.put("wechatpay.api_key", "0123456789abcdef0123456789abcdef").unwrap();
        drop(v);
        let path = Vault::path_in(&dir);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert!(!path.with_extension("vault.tmp").exists(), "the temporary file was renamed");

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let v = Vault::unlock(&dir, "correct horse").unwrap();
        assert_eq!((mode(&dir), mode(&path)), (0o700, 0o600), "tightened on open");
        // A leftover temporary file from a crash, world-readable, does not make the next save readable.
        std::fs::write(path.with_extension("vault.tmp"), b"old").unwrap();
        std::fs::set_permissions(path.with_extension("vault.tmp"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut v = v;
        v.put("x", "y").unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
