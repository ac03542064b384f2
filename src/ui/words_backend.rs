//! The words for a till and its merchant backend (商户后台): the status bar, the Join form's outcomes, and why the
//! backend's channels cannot be used, in both languages. The technical detail stays in English, in the log.

use crate::channel::backend::BackendError;
use crate::channel::backend::api::ApiError;
use crate::i18n::{Lang, Text};
use crate::routing::backend::{Joined, LinkError, StaffError};

/// The status bar's item in merchant-backend mode: "商户后台 URL".
pub fn status(lang: Lang, url: &str) -> String {
    format!("{} {url}", lang.pick("商户后台", "merchant backend"))
}

/// The keys must be unlocked: the till's token is in the vault.
pub fn unlock_first() -> Text {
    Text::new(
        "商户后台：请先在“设置 → 收单通道与密钥”输入口令解锁密钥",
        "Merchant backend: unlock the keys first (Settings → Live channels and keys)",
    )
}

/// Why the channels (the backend's, the live gateways or the sandbox's) cannot be built.
pub fn channels_error(e: &crate::queue::ChannelsError) -> Text {
    use crate::queue::ChannelsError;
    match e {
        ChannelsError::Locked { backend: true } => unlock_first(),
        ChannelsError::Locked { backend: false } => Text::new(
            "正式模式：请先在“设置 → 收单通道与密钥”输入口令解锁密钥",
            "Live mode: unlock the keys first (Settings → Live channels and keys)",
        ),
        ChannelsError::Link(e) => link_error(e),
        ChannelsError::Live(e) => Text::new(
            "正式收单通道无法使用：请检查“设置 → 收单通道与密钥”（详情见日志）",
            format!("The live channels cannot be used: {e}"),
        ),
        ChannelsError::Sandbox(e) => {
            Text::new("沙箱收单通道无法使用（详情见日志）", format!("The sandbox channels cannot be used: {e}"))
        }
        ChannelsError::NotConnected => Text::new("收单通道未连接", "The acquirers are not connected"),
        ChannelsError::Queue(e) => {
            tracing::warn!(error = %e, "the channels were not built");
            Text::new("收单通道未能建立，请重试", "The channels could not be set up: try again")
        }
    }
}

/// Why the backend's channels cannot be built.
pub fn link_error(e: &LinkError) -> Text {
    tracing::warn!(error = %e, "the merchant backend cannot be used");
    match e {
        LinkError::NoToken { .. } => Text::new(
            "密钥库中没有本收银台的商户后台令牌：请重新加入商户后台",
            "This till's merchant backend token is not in the key vault: join the backend again",
        ),
        LinkError::NotJoined => Text::new("本收银台尚未加入商户后台", "This till has not joined a merchant backend"),
        LinkError::Unfinished { orders, refunds, outbox } => Text::new(
            format!(
                "本收银台还有 {orders} 笔支付、{refunds} 笔退款和 {outbox} 项待发送的操作尚未完成：请等它们完成（或在命令行运行 \
                 tilldesk recover）后再加入商户后台"
            ),
            format!(
                "This till has {orders} payment(s), {refunds} refund(s) and {outbox} queued step(s) not finished yet: let \
                 them finish (or run tilldesk recover) before joining the merchant backend"
            ),
        ),
        LinkError::Backend(b) => backend_error(b),
        LinkError::Store(s) => crate::ui::words_backoffice::store_error(s),
        LinkError::Secret(_) => {
            Text::new("无法写入密钥库（详情见日志）", format!("The key vault cannot be written: {e}"))
        }
    }
}

/// What the backend answered, or why it did not.
pub fn backend_error(e: &BackendError) -> Text {
    match e {
        BackendError::BadUrl { url, .. } => {
            Text::new(format!("商户后台地址无效：{url}"), format!("The merchant backend URL cannot be used: {url}"))
        }
        BackendError::Transport(_) | BackendError::BadResponse { .. } => Text::new(
            "无法连接商户后台：请检查地址和网络（详情见日志）",
            "The merchant backend did not answer: check the URL and the network (the log has the detail)",
        ),
        BackendError::Api(api) => api_error(api),
        BackendError::TrustedRoot { path, .. } => {
            tracing::warn!(error = %e, "the backend's extra trusted root");
            Text::new(
                format!("无法使用商户后台的根证书文件 {path}（详情见日志）"),
                format!("The merchant backend's root certificate file {path} cannot be used (the log has the detail)"),
            )
        }
    }
}

fn api_error(e: &ApiError) -> Text {
    match e {
        ApiError::EnrolmentCodeUnknown => Text::new(
            "加入码不正确：请核对商户后台给出的加入码",
            "The enrolment code is not known: check the code the backend printed",
        ),
        ApiError::EnrolmentCodeUsed => Text::new(
            "该加入码已经用过：请在商户后台重新生成（tilldesk serve add-till）",
            "This enrolment code was used already: make a new one at the backend (tilldesk serve add-till)",
        ),
        ApiError::EnrolmentCodeExpired => Text::new(
            "加入码已过期（24 小时内有效）：请在商户后台重新生成",
            "The enrolment code has expired (it works for 24 hours): make a new one at the backend",
        ),
        ApiError::Revoked => Text::new("本收银台已在商户后台被停用", "This till was revoked at the merchant backend"),
        ApiError::Unauthorized => Text::new(
            "商户后台不认识本收银台的令牌：请重新加入",
            "The merchant backend does not know this till's token: join again",
        ),
        other => Text::new(
            format!("商户后台拒绝了请求（{}）", other.kind()),
            format!("The merchant backend refused ({}): {other}", other.kind()),
        ),
    }
}

/// The Join form's success.
pub fn joined(j: &Joined) -> Text {
    let (url, id, name, store) = (&j.link.url, j.link.till_id, &j.link.till_name, &j.store_code);
    Text::new(
        format!("已加入商户后台 {url}：本机为门店 {store} 的收银台 #{id}「{name}」，收款经商户后台转发"),
        format!("Joined the merchant backend {url} as till #{id} \"{name}\" of store {store}: payments go through it"),
    )
}

/// What became of the orders taken before joining (sent up as the till's history).
pub fn history_sent(sent: &crate::routing::history::HistorySent) -> Text {
    let (recorded, known, held, kept) = (sent.recorded, sent.known, sent.held, sent.kept());
    Text::new(
        format!(
            "加入前在本机收款的订单已作为本收银台的历史发送到商户后台：新记录 {recorded} 笔，已有 {known} 笔{}{}。\
             商户后台的收单账户持有其交易的，可经商户后台退款；否则请在原收单机构的商户平台办理。",
            if held > 0 {
                format!("，{held} 笔原本就经该商户后台收款（照常经其退款）")
            } else {
                String::new()
            },
            if kept > 0 { format!("，{kept} 笔仅保留在本机") } else { String::new() }
        ),
        format!(
            "The orders taken here before joining went to the merchant backend as this till's history: {recorded} \
             recorded, {known} already there{}{}. One whose payment an account of the backend holds is refunded through \
             it; refund the others in their acquirer's merchant portal.",
            if held > 0 {
                format!(", {held} taken through this backend before (refunded through it as usual)")
            } else {
                String::new()
            },
            if kept > 0 { format!(", {kept} kept at this till only") } else { String::new() }
        ),
    )
}

/// The Join form while it works.
pub fn joining(lang: Lang) -> &'static str {
    lang.pick("正在加入商户后台…", "Joining the merchant backend…")
}

impl crate::i18n::Phrase for StaffError {
    fn phrase(&self, lang: Lang) -> String {
        match self {
            StaffError::Unreachable(_) => {
                tracing::warn!(error = %self, "sign-in: the merchant backend cannot be reached");
                lang.pick(
                    "无法连接商户后台，暂时无法登录：员工由商户后台核验，请检查网络后重试",
                    "The merchant backend cannot be reached, so nobody can sign in now: staff are checked there. \
                     Check the network and try again",
                )
                .to_owned()
            }
            StaffError::Auth(a) => crate::ui::staff::auth_words(lang, a),
            StaffError::Taken(name) => match lang {
                Lang::ZhCn => format!("商户后台已有名为 {name} 的操作员"),
                Lang::En => format!("The merchant backend already has an operator called {name:?}"),
            },
            StaffError::Active(e) => crate::ui::staff::active_words(lang, e),
            StaffError::Refused(api) => api_error(api).get(lang).to_owned(),
            StaffError::Link(l) => link_error(l).get(lang).to_owned(),
            StaffError::Store(s) => crate::ui::words_backoffice::store_error_words(s, lang),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_and_joining_refusals_are_said_in_each_language() {
        let sent = crate::routing::history::HistorySent { recorded: 3, known: 1, not_settled: 1, ..Default::default() };
        let t = history_sent(&sent);
        assert!(t.zh.contains("新记录 3 笔，已有 1 笔，1 笔仅保留在本机") && t.zh.contains("商户平台"), "{}", t.zh);
        assert!(t.en.contains("3 recorded, 1 already there, 1 kept at this till only"), "{}", t.en);
        assert!(!t.zh.chars().any(|c| c.is_ascii_alphabetic()), "no English in the Chinese: {}", t.zh);
        let again = crate::routing::history::HistorySent {
            known: 1,
            held: 2,
            invalid: vec![("T1".into(), "orders[0].created_at: a UTC time".into())],
            ..Default::default()
        };
        let t = history_sent(&again);
        assert!(t.zh.contains("已有 1 笔，2 笔原本就经该商户后台收款（照常经其退款），1 笔仅保留在本机"), "{}", t.zh);
        assert!(
            t.en.contains("2 taken through this backend before (refunded through it as usual), 1 kept"),
            "{}",
            t.en
        );
        assert!(!t.zh.chars().any(|c| c.is_ascii_alphabetic()), "no English in the Chinese: {}", t.zh);
        let two = Text::new("已加入", "Joined").then(&Text::new("已发送。", "Sent."));
        assert_eq!((two.zh.as_str(), two.en.as_str()), ("已加入。已发送。", "Joined. Sent."));
        let ended = Text::new("好：", "Done:").then(&Text::new("甲", "a"));
        assert_eq!((ended.zh.as_str(), ended.en.as_str()), ("好：甲", "Done: a"));
        let busy = link_error(&LinkError::Unfinished { orders: 2, refunds: 1, outbox: 0 });
        assert!(busy.zh.contains("2 笔支付、1 笔退款和 0 项") && busy.en.contains("2 payment(s), 1 refund(s)"));
    }
}
