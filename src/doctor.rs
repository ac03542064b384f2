//! `tilldesk doctor`: what a support call needs first, as text or JSON.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::{self, DataHome};
use crate::model::ChannelMode;
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
                .acquirers()?
                .into_iter()
                .map(|a| ChannelInfo {
                    name: a.name,
                    kind: a.kind.to_string(),
                    mode: a.mode,
                    gateway_url: a.gateway_url,
                })
                .collect(),
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
}
