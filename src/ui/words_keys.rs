//! The words of Settings → Live channels and keys: a refused key, vault or certificate, and where the WeChat Pay API
//! certificate stands, in both languages (the technical detail stays in English, in the log).

use crate::i18n::{Lang, Text};
use crate::keys::{self, CertStatus};
use crate::secrets::SecretError;

/// A refused key, vault or certificate in both languages (the technical detail stays in English, in the log).
pub fn key_error(e: &keys::KeyError) -> Text {
    use crate::channel::wechatpay::cert::CertError as C;
    let zh = match e {
        keys::KeyError::Secret(s) => secret_words(s),
        keys::KeyError::Store(s) => crate::ui::words_backoffice::store_error_words(s, Lang::ZhCn),
        keys::KeyError::Invalid(_) => "内容无效：请检查粘贴或选择的密钥、地址或文件（详情见日志）".to_owned(),
        keys::KeyError::Missing(_) => "尚未配置：请先填写并保存所需的设置或密钥".to_owned(),
        keys::KeyError::Certificate(c) => match c {
            C::WrongPassword => "证书密码不正确（微信支付默认设为商户号）".to_owned(),
            C::NotPkcs12(_) => "这不是 apiclient_cert.p12 那样的 PKCS#12 证书文件".to_owned(),
            C::NoKey => "证书文件里没有与证书配对的私钥".to_owned(),
            C::BadCertificate(_) => "无法读取证书（详情见日志）".to_owned(),
            C::NoCommonName => "证书主题没有 CN（应为商户号）".to_owned(),
            C::OtherMerchant { cn, mch_id } => format!("证书属于商户 {cn}，不是已配置的商户号 {mch_id}"),
            C::Expired { date } => {
                format!(
                    "证书已于 {date}（UTC）过期：请在微信支付商户平台（账户中心 → API安全 → API证书）下载新证书后导入"
                )
            }
            C::NotYetValid { date } => format!("证书在 {date}（UTC）之前无效：请检查收银机的时钟"),
        },
    };
    if matches!(e, keys::KeyError::Invalid(_) | keys::KeyError::Certificate(C::BadCertificate(_))) {
        tracing::warn!(error = %e, "a key or certificate was refused");
    }
    Text::new(zh, e.to_string())
}

pub fn secret_words(e: &SecretError) -> String {
    match e {
        SecretError::WrongPassphrase { .. } => "口令无法打开密钥库（口令错误，或文件被改动过）".to_owned(),
        SecretError::WeakPassphrase => "口令至少需要 8 个字符".to_owned(),
        SecretError::Read { path, .. } => format!("无法读取密钥文件 {}", path.display()),
        SecretError::Write { path, .. } => format!("无法写入密钥文件 {}", path.display()),
        SecretError::Damaged { path, .. } => format!("密钥文件 {} 已损坏", path.display()),
        SecretError::Kdf(_) | SecretError::KdfParameter { .. } => {
            tracing::warn!(error = %e, "the vault key cannot be derived");
            "无法从口令得出加密密钥（文件损坏或来自未知版本；详情见日志）".to_owned()
        }
    }
}

/// Where the WeChat Pay API certificate stands, in words.
pub fn cert_status_words(status: &CertStatus, lang: Lang) -> String {
    match (lang, status) {
        (Lang::En, s) => s.to_string(),
        (Lang::ZhCn, CertStatus::NotImported) => "尚未导入微信支付 API 证书：无法退款和撤销".to_owned(),
        (Lang::ZhCn, CertStatus::Unusable(_)) => "微信支付 API 证书无法使用：请重新导入".to_owned(),
        (Lang::ZhCn, CertStatus::Valid(info)) => {
            format!("API 证书 CN={}，有效期至 {}", info.subject_cn, info.expiry_date())
        }
        (Lang::ZhCn, CertStatus::ExpiringSoon { info, days_left }) => {
            format!("API 证书 CN={} 将在 {days_left} 天后（{}）过期：请尽快更新", info.subject_cn, info.expiry_date())
        }
        (Lang::ZhCn, CertStatus::Expired(info)) => {
            format!("API 证书 CN={} 已于 {} 过期：请重新下载并导入", info.subject_cn, info.expiry_date())
        }
    }
}
