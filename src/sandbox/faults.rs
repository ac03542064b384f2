//! Fault injection (`POST /admin/faults`): make the next N requests, or a fraction of them, misbehave.

use std::sync::Mutex;
use std::time::Duration;

use rand::RngExt as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Wait `latency_ms` before handling the request.
    Latency,
    /// Handle the request (the ledger commits), then drop the connection: the response is lost.
    DropAfterCommit,
    /// Answer HTTP 500 without handling the request.
    #[serde(rename = "http_500")]
    Http500,
    /// Handle the request, then answer with a truncated, unparsable body.
    Malformed,
    /// Handle the request, then answer with a signature that does not verify.
    BadSign,
    /// Answer the protocol's own transient error without handling the request (Alipay 20000 / cancel
    /// retry_flag=Y, WeChat SYSTEMERROR / reverse recall=Y).
    SystemError,
}

/// One rule. `target` is an Alipay method (`alipay.trade.pay`), a WeChat path (`/pay/micropay`), or `*`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    pub target: String,
    pub kind: FaultKind,
    /// Applies to the next `count` matching requests (default: until cleared).
    #[serde(default)]
    pub count: Option<u32>,
    /// Applies to this share of matching requests, 0.0–1.0 (default: all).
    #[serde(default)]
    pub fraction: Option<f64>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

/// The faults that fire for one request.
#[derive(Debug, Default, Clone)]
pub struct Fired {
    pub kinds: Vec<FaultKind>,
    pub latency: Option<Duration>,
}

impl Fired {
    pub fn has(&self, kind: FaultKind) -> bool {
        self.kinds.contains(&kind)
    }
}

impl Faults {
    pub fn add(&self, rule: FaultRule) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.push(rule);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.clear();
        }
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Decides which rules fire for a request to `target`, counting them down.
    pub fn fire(&self, target: &str) -> Fired {
        let mut fired = Fired::default();
        let Ok(mut rules) = self.rules.lock() else { return fired };
        let mut rng = rand::rng();
        for rule in rules.iter_mut() {
            if rule.target != "*" && rule.target != target {
                continue;
            }
            if rule.count == Some(0) {
                continue;
            }
            if let Some(f) = rule.fraction
                && rng.random::<f64>() >= f
            {
                continue;
            }
            if let Some(c) = rule.count.as_mut() {
                *c -= 1;
            }
            if rule.kind == FaultKind::Latency {
                fired.latency = Some(Duration::from_millis(rule.latency_ms.unwrap_or(1000)));
            }
            fired.kinds.push(rule.kind);
        }
        rules.retain(|r| r.count != Some(0));
        fired
    }
}

/// Flips the first character of the signature in a JSON (`"sign":"…"`) or XML (`<sign>…`) body.
pub fn corrupt_sign(body: &str) -> String {
    for marker in ["\"sign\":\"", "<sign><![CDATA[", "<sign>"] {
        if let Some(pos) = body.find(marker) {
            let at = pos + marker.len();
            if let Some(c) = body[at..].chars().next() {
                let replacement = if c == 'A' { 'B' } else { 'A' };
                let mut out = String::with_capacity(body.len());
                out.push_str(&body[..at]);
                out.push(replacement);
                out.push_str(&body[at + c.len_utf8()..]);
                return out;
            }
        }
    }
    body.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rules_run_out() {
        let faults = Faults::default();
        faults.add(FaultRule {
            target: "alipay.trade.pay".into(),
            kind: FaultKind::Http500,
            count: Some(2),
            fraction: None,
            latency_ms: None,
        });
        assert!(faults.fire("alipay.trade.query").kinds.is_empty());
        assert!(faults.fire("alipay.trade.pay").has(FaultKind::Http500));
        assert!(faults.fire("alipay.trade.pay").has(FaultKind::Http500));
        assert!(faults.fire("alipay.trade.pay").kinds.is_empty());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn signatures_are_corrupted_in_json_and_xml() {
        assert_eq!(corrupt_sign(r#"{"a_response":{},"sign":"Xyz"}"#), r#"{"a_response":{},"sign":"Ayz"}"#);
        assert_eq!(corrupt_sign("<xml><sign><![CDATA[ABC]]></sign></xml>"), "<xml><sign><![CDATA[BBC]]></sign></xml>");
    }
}
