//! `tilldesk doctor`: what a support call needs first, as text or JSON.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::{self, DataHome};
use crate::model::ChannelMode;
use crate::private_files::{self, Tightened};
use crate::store::StoreError;

#[derive(Debug, Serialize)]
pub struct DoctorReport {
    pub version: &'static str,
    pub data_dir: PathBuf,
    pub database: PathBuf,
    pub schema_version: u32,
    pub mode: ChannelMode,
    pub tables: Vec<TableCount>,
    pub channels: Vec<ChannelInfo>,
    /// The modes of the data folder, the database files and the vault (Unix).
    pub permissions: Vec<PermissionInfo>,
    /// What this start found readable by others and made private.
    pub tightened: Vec<Tightened>,
}

#[derive(Debug, Serialize)]
pub struct PermissionInfo {
    pub path: PathBuf,
    /// Octal, like "0600"; None when the file does not exist (or on systems without Unix modes).
    pub mode: Option<String>,
    /// Nothing for the group or others.
    pub private: bool,
}

fn permissions(home: &DataHome) -> Vec<PermissionInfo> {
    let db = home.dir.join(config::DATABASE_FILE);
    let mut paths = vec![home.dir.clone()];
    paths.extend(private_files::database_files(&db));
    paths.push(crate::secrets::Vault::path_in(&home.dir));
    paths
        .into_iter()
        .map(|path| {
            let mode = private_files::mode_of(&path);
            PermissionInfo {
                private: mode.is_none_or(private_files::is_private_mode),
                mode: mode.map(|m| format!("{m:04o}")),
                path,
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct TableCount {
    pub table: &'static str,
    pub rows: i64,
}

#[derive(Debug, Serialize)]
pub struct ChannelInfo {
    pub name: String,
    pub kind: String,
    pub mode: ChannelMode,
    pub gateway_url: String,
}

impl DoctorReport {
    pub fn collect(home: &DataHome) -> Result<Self, StoreError> {
        let store = &home.store;
        Ok(DoctorReport {
            version: env!("CARGO_PKG_VERSION"),
            data_dir: home.dir.clone(),
            database: store.path().to_owned(),
            schema_version: store.schema_version()?,
            mode: config::channel_mode(store)?,
            tables: store.table_counts()?.into_iter().map(|(table, rows)| TableCount { table, rows }).collect(),
            channels: store
                .setup()
                .acquirers()?
                .into_iter()
                .map(|a| ChannelInfo {
                    name: a.name,
                    kind: a.kind.to_string(),
                    mode: a.mode,
                    gateway_url: a.gateway_url,
                })
                .collect(),
            permissions: permissions(home),
            tightened: home.tightened.clone(),
        })
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "TillDesk {}", self.version);
        let _ = writeln!(out, "data folder:    {}", self.data_dir.display());
        let _ = writeln!(out, "database:       {}", self.database.display());
        let _ = writeln!(out, "schema version: {}", self.schema_version);
        let _ = writeln!(out, "mode:           {}", self.mode);
        let _ = writeln!(out, "tables:");
        for t in &self.tables {
            let _ = writeln!(out, "  {:<18} {:>10}", t.table, t.rows);
        }
        let _ = writeln!(out, "channels:");
        if self.channels.is_empty() {
            let _ = writeln!(out, "  none configured: the embedded sandbox is used");
        }
        for c in &self.channels {
            let url = if c.gateway_url.is_empty() { "(embedded sandbox)" } else { c.gateway_url.as_str() };
            let _ = writeln!(out, "  {:<18} {:<11} {:<8} {}", c.name, c.kind, c.mode, url);
        }
        let _ = writeln!(out, "permissions:");
        for p in self.permissions.iter().filter(|p| p.mode.is_some()) {
            let verdict = if p.private { "private" } else { "READABLE BY OTHERS" };
            let _ = writeln!(out, "  {} {:<18} {}", p.mode.as_deref().unwrap_or("-"), verdict, p.path.display());
        }
        for t in &self.tightened {
            let _ = writeln!(out, "  tightened at this start: {t}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AcquirerKind;

    #[test]
    fn the_report_lists_tables_and_channels() {
        let tmp = tempfile::tempdir().unwrap();
        let mut home = DataHome::open(tmp.path()).unwrap();
        home.store
            .setup_mut()
            .add_acquirer(
                AcquirerKind::WechatPay,
                "WeChat Pay",
                ChannelMode::Live,
                "https://api.mch.weixin.qq.com",
                None,
            )
            .unwrap();
        let report = DoctorReport::collect(&home).unwrap();
        let text = report.to_text();
        assert!(text.contains(&format!("schema version: {}", crate::store::SCHEMA_VERSION)), "{text}");
        assert!(text.contains("WeChat Pay") && text.contains("wechatpay") && text.contains("live"), "{text}");
        assert!(text.contains("acquirers") && text.contains("audit_log"), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["channels"][0]["kind"], "wechatpay");
        assert_eq!(json["tables"].as_array().unwrap().len(), crate::store::TABLES.len());
    }

    #[cfg(unix)]
    #[test]
    fn the_report_shows_the_permissions_and_what_was_tightened() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        drop(DataHome::open(tmp.path()).unwrap());
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o775)).unwrap();
        let home = DataHome::open(tmp.path()).unwrap();
        let text = DoctorReport::collect(&home).unwrap().to_text();
        assert!(text.contains("permissions:\n  0700 private"), "{text}");
        assert!(text.contains("0600 private") && text.contains(config::DATABASE_FILE), "{text}");
        assert!(text.contains("tightened at this start:") && text.contains("was 0775, now 0700"), "{text}");
        assert!(!text.contains("READABLE BY OTHERS"), "{text}");
    }
}
