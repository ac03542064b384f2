//! Words for what the core returns to the back-office screens (the shell, Settings, staff, sync): database errors,
//! audit-log actions and sync runs, phrased in both languages from kinds and values. The core's English `Display`
//! stays for the command line and the log.

use crate::i18n::{Lang, Phrase, Text};
use crate::model::{AuditEntry, Role};
use crate::queue::QueueError;
use crate::store::StoreError;
use crate::store::sync::SyncRun;

/// A database error in both languages. The technical detail (SQLite's words) goes to the log; the person reads
/// what happened and what to do.
pub fn store_error(e: &StoreError) -> Text {
    Text::new(store_error_words(e, Lang::ZhCn), store_error_words(e, Lang::En))
}

/// [`store_error`] in one language.
pub fn store_error_words(e: &StoreError, lang: Lang) -> String {
    if lang == Lang::En {
        return e.to_string();
    }
    match e {
        StoreError::Open { path, .. } => format!("无法打开数据库 {}", path.display()),
        StoreError::SchemaTooNew { found, supported, .. } => format!(
            "数据库由更新版本的 TillDesk 写入（数据库版本 {found}，本版本最多支持 {supported}）：请更新 TillDesk，或换一个数据目录"
        ),
        StoreError::Migration { version, .. } => format!("无法把数据库升级到版本 {version}"),
        StoreError::NotFound { key, .. } => format!("找不到 {key}"),
        StoreError::Corrupt { .. } => {
            tracing::warn!(error = %e, "unexpected value in the database");
            "数据库中有异常的值（详情见日志）".to_owned()
        }
        StoreError::Sql(_) => {
            tracing::warn!(error = %e, "database error");
            "数据库错误（详情见日志）".to_owned()
        }
        StoreError::DayClosed { bill_date, closed_at, closed_by } => format!(
            "{bill_date} 已由 {closed_by} 于 {}（北京时间）结账；请先重新开账",
            crate::time::to_china_display(closed_at)
        ),
        StoreError::Resolution(r) => crate::ui::reconcile_resolve::refused_zh(r),
        StoreError::Forbidden { key, .. } => {
            tracing::warn!(error = %e, "a status change was refused");
            format!("{key} 的状态不能这样变更")
        }
    }
}

/// A staff role as the UI names it (店主, 收银员, 财务).
pub fn role_words(role: Role, lang: Lang) -> &'static str {
    crate::ui::role_label(lang, role)
}

/// How the change was made ("window", "command line").
fn actor_words(actor: &str, lang: Lang) -> Option<&'static str> {
    Some(match actor {
        "window" => lang.pick("窗口", "window"),
        "cli" | "command line" => lang.pick("命令行", "command line"),
        "serve" | "backend" => lang.pick("商户后台", "merchant backend"),
        _ => return None,
    })
}

/// A setting's name in words, for "setting.change" entries; None for a setting the UI does not name.
pub fn setting_words(key: &str, lang: Lang) -> Option<&'static str> {
    use crate::config as c;
    let prefixed = |p: &str| key.starts_with(p);
    Some(match key {
        c::SETTING_LANGUAGE => lang.pick("界面语言", "language"),
        c::SETTING_THEME => lang.pick("主题", "theme"),
        c::SETTING_SCALE => lang.pick("界面缩放", "interface scale"),
        c::SETTING_MODE => lang.pick("运行模式", "mode"),
        c::SETTING_ACCESS => lang.pick("接入方式", "access mode"),
        c::SETTING_BACKEND_URL => lang.pick("商户后台地址", "merchant backend URL"),
        c::SETTING_FIRST_RUN => lang.pick("首次设置", "first-run setup"),
        c::SETTING_TILL_STORE => lang.pick("本机门店", "this till's store"),
        c::SETTING_TILL_TERMINAL => lang.pick("本机终端号", "this till's terminal id"),
        crate::ui::path_field::SETTING_RECENT_FOLDERS => lang.pick("最近的文件夹", "recent folders"),
        "notify.listen" => lang.pick("通知监听地址", "notification listen address"),
        "notify.allow_remote" => lang.pick("允许其他机器发送通知", "notifications from other machines"),
        "sync.bill_time" => lang.pick("自动下载账单时间", "bill fetch time"),
        "sync.interval_secs" => lang.pick("同步间隔", "sync interval"),
        "sound.enabled" => lang.pick("提示音", "sound"),
        "sound.voice" => lang.pick("语音播报", "voice announcements"),
        "sound.volume" => lang.pick("音量", "volume"),
        "receipt.mode" => lang.pick("小票打印方式", "receipt printing"),
        "receipt.printer" => lang.pick("小票打印机", "receipt printer"),
        "receipt.width" => lang.pick("小票纸宽", "receipt paper width"),
        "recon.midnight_window_minutes" => lang.pick("跨日窗口", "midnight window"),
        "recon.time_tolerance_minutes" => lang.pick("时间容差", "time tolerance"),
        _ if prefixed("recon.fee_rate.") => lang.pick("费率", "fee rate"),
        _ if prefixed("recon.cutoff.") => lang.pick("日切时间", "cut-off time"),
        _ if prefixed("keys.") => lang.pick("功能键", "function key"),
        _ if prefixed("sync.bills_done") => lang.pick("已下载账单", "bills fetched"),
        _ if prefixed("alipay.") || prefixed("alipayplus.") => lang.pick("支付宝接口设置", "Alipay settings"),
        _ if prefixed("wechatpay.") || prefixed("wechat.") => lang.pick("微信支付接口设置", "WeChat Pay settings"),
        _ if prefixed("display.") || prefixed("customer_display") => lang.pick("顾客显示屏", "customer display"),
        _ => return None,
    })
}

/// A setting's value in words where the UI knows the setting's values (languages, themes, modes, on/off); None
/// otherwise (the raw value stays on hover).
fn setting_value_words(key: &str, value: &str, lang: Lang) -> Option<String> {
    use crate::config as c;
    Some(match key {
        c::SETTING_LANGUAGE => Lang::from_tag(value)?.native_name().to_owned(),
        c::SETTING_THEME => c::Theme::parse(value)?.label(lang).to_owned(),
        c::SETTING_SCALE => format!("{} %", value.trim().parse::<u16>().ok()?),
        c::SETTING_MODE => match value {
            "sandbox" => lang.pick("沙箱", "sandbox").to_owned(),
            "live" => lang.pick("正式", "live").to_owned(),
            _ => return None,
        },
        c::SETTING_ACCESS => c::AccessMode::parse(value)?.label(lang).to_owned(),
        "receipt.mode" => match value {
            "always" => lang.pick("总是", "always").to_owned(),
            "ask" => lang.pick("询问", "ask").to_owned(),
            "never" => lang.pick("从不", "never").to_owned(),
            _ => return None,
        },
        _ => match value {
            "true" | "on" => lang.pick("开", "on").to_owned(),
            "false" | "off" => lang.pick("关", "off").to_owned(),
            v if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '-' | '%')) => {
                v.to_owned()
            }
            _ => return None,
        },
    })
}

/// An audit action in words ("bill.import" → 导入账单 / "Bill imported"); None for an action the UI does not name
/// (it is then shown as "other change", with the raw action on hover).
pub fn audit_action_words(action: &str, lang: Lang) -> Option<&'static str> {
    Some(match action {
        "bill.import" => lang.pick("导入账单", "Bill imported"),
        "operator.add" => lang.pick("添加员工", "Operator added"),
        "operator.pin_refused" => lang.pick("PIN 错误，拒绝登录", "Sign-in refused: wrong PIN"),
        "operator.unknown_name" => lang.pick("未知的操作员尝试登录", "Sign-in refused: unknown name"),
        "operator.locked_out" => lang.pick("PIN 错误次数过多，已锁定", "Locked out after too many wrong PINs"),
        "operator.pin_locked" => lang.pick("锁定期间尝试登录", "Sign-in tried while locked out"),
        "operator.pin_change" => lang.pick("更改 PIN", "PIN changed"),
        "operator.deactivate" => lang.pick("停用员工", "Operator deactivated"),
        "operator.mirror" => lang.pick("从商户后台同步员工", "Operator list from the merchant backend"),
        "shift.open" => lang.pick("开班", "Shift opened"),
        "shift.close" => lang.pick("交班", "Shift closed"),
        "day.close" => lang.pick("日结", "Day closed"),
        "day.reopen" => lang.pick("重新开放日结", "Day close reopened"),
        "operator.reactivate" => lang.pick("重新启用员工", "Operator reactivated"),
        "permission.refused" => lang.pick("无权操作，已拒绝", "Refused: not allowed"),
        "setting.change" => lang.pick("更改设置", "Setting changed"),
        "secret.set" => lang.pick("保存密钥", "Secret stored"),
        "merchant.update" => lang.pick("修改商户资料", "Merchant updated"),
        "store.create" => lang.pick("新建门店", "Store created"),
        "store.update" => lang.pick("修改门店", "Store updated"),
        "store.code_format" => lang.pick("更改店铺码格式", "Store code format changed"),
        "acquirer.add" => lang.pick("添加收单账户", "Acquirer account added"),
        "acquirer.onboarding_code" => lang.pick("收单机构进件码", "Acquirer onboarding code"),
        "route.set" => lang.pick("设置收款路由", "Route set"),
        "route.remove" => lang.pick("停用收款路由", "Route removed"),
        "refund.request" => lang.pick("发起退款", "Refund requested"),
        "refund.status" => lang.pick("退款状态变更", "Refund status changed"),
        "till.add" => lang.pick("添加收银台", "Till added"),
        "till.enrol" => lang.pick("收银台加入商户后台", "Till enrolled"),
        "till.revoke" => lang.pick("吊销收银台", "Till revoked"),
        "discrepancy.resolve" => lang.pick("处理对账差异", "Difference resolved"),
        "discrepancy.reopen" => lang.pick("重新打开对账差异", "Difference reopened"),
        "recon.day_close" => lang.pick("结账", "Day closed"),
        "recon.day_reopen" => lang.pick("重新开账", "Day reopened"),
        "order.adopt_from_bill" => lang.pick("按账单补录订单", "Order adopted from the bill"),
        _ => return None,
    })
}

/// One audit entry in words: what happened (phrased), to what, and the values where the UI knows them.
pub fn audit_line(e: &AuditEntry, who: Option<&str>, lang: Lang) -> String {
    let action = audit_action_words(&e.action, lang)
        .map(str::to_owned)
        .unwrap_or_else(|| lang.pick("其他变更", "Other change").to_owned());
    let subject = &e.subject;
    let after = e.after.as_deref().unwrap_or("");
    let detail = match e.action.as_str() {
        "setting.change" => {
            let name = setting_words(subject, lang).unwrap_or(lang.pick("其他设置", "another setting"));
            let value = |v: Option<&str>| match v {
                None => Some("—".to_owned()),
                Some(v) => setting_value_words(subject, v, lang),
            };
            match (value(e.before.as_deref()), value(e.after.as_deref())) {
                (Some(b), Some(a)) => format!("{name}：{b} → {a}").replace('：', lang.pick("：", ": ")),
                _ => name.to_owned(),
            }
        }
        "operator.add" => match Role::parse(after) {
            Some(role) => format!("{subject}（{}）", role_words(role, lang))
                .replace('（', lang.pick("（", " ("))
                .replace('）', lang.pick("）", ")")),
            None => subject.clone(),
        },
        "operator.pin_refused" => match after.parse::<i64>() {
            Ok(n) => match lang {
                Lang::ZhCn => format!("{subject}（连续第 {n} 次）"),
                Lang::En => format!("{subject} ({n} in a row)"),
            },
            Err(_) => subject.clone(),
        },
        "operator.pin_locked" => match after.parse::<i64>() {
            Ok(n) => match lang {
                Lang::ZhCn => format!("{subject}（还剩 {n} 秒）"),
                Lang::En => format!("{subject} ({n} s left)"),
            },
            Err(_) => subject.clone(),
        },
        "refund.request" => format!("{subject} {after}"),
        "refund.status" => match crate::model::RefundStatus::parse(after) {
            Some(status) => format!("{subject} → {}", status.label(lang)),
            None => subject.clone(),
        },
        "route.set" | "route.remove" => route_words(subject, lang).unwrap_or_default(),
        // An action the UI does not know: its subject may be in the core's words (on hover with the rest).
        _ if audit_action_words(&e.action, lang).is_none() => String::new(),
        // Dates, order and difference numbers, names: the subject reads the same in both languages.
        _ => subject.clone(),
    };
    let who =
        who.map(str::to_owned).or_else(|| e.actor.as_deref().and_then(|a| actor_words(a, lang)).map(str::to_owned));
    let at = crate::time::to_china_display(&e.at);
    let line = match who {
        Some(who) => format!("{at}  {who}  {action}  {detail}"),
        None => format!("{at}  {action}  {detail}"),
    };
    line.trim_end().to_owned()
}

/// A route's subject ("store #1 wechatpay") in words: 门店 #1 · 微信支付.
fn route_words(subject: &str, lang: Lang) -> Option<String> {
    let rest = subject.strip_prefix("store #")?;
    let (store, wallet) = rest.split_once(' ')?;
    let wallet = match crate::model::Wallet::parse(wallet.trim())? {
        crate::model::Wallet::Alipay => lang.pick("支付宝", "Alipay"),
        crate::model::Wallet::WechatPay => lang.pick("微信支付", "WeChat Pay"),
    };
    Some(format!("{}{store} · {wallet}", lang.pick("门店 #", "store #")))
}

/// The raw entry, for support (shown on hover).
pub fn audit_raw(e: &AuditEntry) -> String {
    format!(
        "{} · #{} · {} · {} · {} · {} → {}",
        e.at,
        e.operator_id.map_or("-".to_owned(), |o| o.0.to_string()),
        e.actor.as_deref().unwrap_or("-"),
        e.action,
        e.subject,
        e.before.as_deref().unwrap_or("—"),
        e.after.as_deref().unwrap_or("—"),
    )
}

/// What a sync run did, phrased from its counts ("1 bills fetched" → 下载账单 1 份 / "1 bill fetched").
pub struct RunSummary<'a>(pub &'a SyncRun);

impl Phrase for RunSummary<'_> {
    fn phrase(&self, lang: Lang) -> String {
        let run = self.0;
        let waiting = |n: i64| match lang {
            Lang::ZhCn => format!("待发送 {n} 项"),
            Lang::En => format!("{n} waiting in the outbox"),
        };
        if !run.online {
            return format!("{}{}{}", lang.pick("离线", "offline"), lang.pick("；", "; "), waiting(run.outbox_pending));
        }
        let plural = |n: i64, one: &str, many: &str| if n == 1 { one.to_owned() } else { many.to_owned() };
        let mut parts = Vec::new();
        let mut add = |n: i64, zh: &str, en_one: &str, en_many: &str| {
            if n > 0 {
                parts.push(match lang {
                    Lang::ZhCn => zh.replace("{n}", &n.to_string()),
                    Lang::En => format!("{n} {}", plural(n, en_one, en_many)),
                });
            }
        };
        add(run.outbox_delivered, "送达 {n} 项", "delivered", "delivered");
        add(run.orders_refreshed, "更新订单 {n} 笔", "order refreshed", "orders refreshed");
        add(run.refunds_refreshed, "跟进退款 {n} 笔", "refund followed", "refunds followed");
        add(run.bindings_refreshed, "更新绑定 {n} 个", "binding refreshed", "bindings refreshed");
        add(run.bills_fetched, "下载账单 {n} 份", "bill fetched", "bills fetched");
        if parts.is_empty() {
            parts.push(lang.pick("无需处理", "nothing to do").to_owned());
        }
        if run.outbox_pending > 0 {
            parts.push(waiting(run.outbox_pending));
        }
        parts.join(lang.pick("，", ", "))
    }
}

/// Why a command sent through the queue gave no answer.
impl Phrase for QueueError {
    fn phrase(&self, lang: Lang) -> String {
        match self {
            QueueError::Open(s) => store_error_words(s, lang),
            QueueError::Stopped => {
                lang.pick("后台任务意外结束", "the background work stopped without an answer").into()
            }
            QueueError::NoRuntime => lang.pick("网络运行时未启动", "the network runtime is not running").into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuditId, OperatorId};

    fn entry(action: &str, subject: &str, before: Option<&str>, after: Option<&str>) -> AuditEntry {
        AuditEntry {
            id: AuditId(1),
            at: "2026-11-24T16:30:00Z".into(),
            operator_id: Some(OperatorId(1)),
            action: action.into(),
            subject: subject.into(),
            before: before.map(Into::into),
            after: after.map(Into::into),
            actor: Some("window".into()),
        }
    }

    #[test]
    fn audit_actions_are_phrased_in_both_languages_in_china_time() {
        let e = entry("bill.import", "2026-11-24", None, Some("wechat.txt"));
        assert_eq!(audit_line(&e, Some("林"), Lang::ZhCn), "2026-11-25 00:30:00  林  导入账单  2026-11-24");
        assert_eq!(audit_line(&e, Some("林"), Lang::En), "2026-11-25 00:30:00  林  Bill imported  2026-11-24");
        let e = entry("operator.pin_refused", "林", None, Some("2"));
        assert_eq!(
            audit_line(&e, None, Lang::ZhCn),
            "2026-11-25 00:30:00  窗口  PIN 错误，拒绝登录  林（连续第 2 次）"
        );
        assert!(audit_line(&e, None, Lang::En).ends_with("Sign-in refused: wrong PIN  林 (2 in a row)"));
        let e = entry("setting.change", "ui.language", Some("zh-CN"), Some("en"));
        assert!(audit_line(&e, None, Lang::ZhCn).ends_with("更改设置  界面语言：中文 → English"));
        assert!(audit_line(&e, None, Lang::En).ends_with("Setting changed  language: 中文 → English"));
        let e = entry("setting.change", "ui.theme", Some("light"), Some("dark"));
        assert!(audit_line(&e, None, Lang::ZhCn).ends_with("主题：浅色 → 深色"));
        let e = entry("operator.add", "王芳", None, Some("back_office"));
        assert!(
            audit_line(&e, None, Lang::ZhCn).ends_with("添加员工  王芳（财务）"),
            "{}",
            audit_line(&e, None, Lang::ZhCn)
        );
        // A refund's status as the till learnt it (a refund made at another till, copied from the backend, too).
        let e = entry("refund.status", "TD1-T2R1", Some("SUBMITTED"), Some("SUCCESS"));
        let (zh, en) = (audit_line(&e, None, Lang::ZhCn), audit_line(&e, None, Lang::En));
        assert!(
            zh.ends_with("退款状态变更  TD1-T2R1 → 退款成功")
                && en.ends_with("Refund status changed  TD1-T2R1 → refunded"),
            "{zh} / {en}"
        );
        // An action the UI does not know is "other change" in words, and raw for support.
        let e = entry("widget.frobbed", "some thing", None, None);
        assert!(audit_line(&e, None, Lang::ZhCn).ends_with("其他变更"));
        assert!(audit_raw(&e).contains("widget.frobbed"));
        let e = entry("route.set", "store #1 wechatpay", None, Some("acquirer #2 merchant -"));
        assert!(audit_line(&e, None, Lang::ZhCn).ends_with("设置收款路由  门店 #1 · 微信支付"));
        // A setting the UI does not name: its name in words, its raw key and values only on hover.
        let e = entry("setting.change", "some.secret_thing", Some("a"), Some("b"));
        assert!(audit_line(&e, None, Lang::ZhCn).ends_with("更改设置  其他设置"));
    }

    #[test]
    fn every_action_the_core_writes_has_words() {
        for action in [
            "bill.import",
            "operator.add",
            "operator.pin_refused",
            "operator.unknown_name",
            "operator.locked_out",
            "operator.pin_locked",
            "operator.pin_change",
            "operator.deactivate",
            "operator.reactivate",
            "operator.mirror",
            "refund.status",
            "till.enrol",
            "shift.open",
            "shift.close",
            "day.close",
            "day.reopen",
            "permission.refused",
            "setting.change",
            "secret.set",
            "discrepancy.resolve",
            "recon.day_close",
        ] {
            for lang in [Lang::ZhCn, Lang::En] {
                assert!(audit_action_words(action, lang).is_some(), "{action}");
            }
        }
    }

    #[test]
    fn sync_runs_are_phrased_with_counts() {
        let mut run = SyncRun { online: true, ..SyncRun::default() };
        assert_eq!(RunSummary(&run).phrase(Lang::ZhCn), "无需处理");
        assert_eq!(RunSummary(&run).phrase(Lang::En), "nothing to do");
        run.bills_fetched = 1;
        run.outbox_delivered = 2;
        assert_eq!(RunSummary(&run).phrase(Lang::ZhCn), "送达 2 项，下载账单 1 份");
        assert_eq!(RunSummary(&run).phrase(Lang::En), "2 delivered, 1 bill fetched");
        run.online = false;
        run.outbox_pending = 3;
        assert_eq!(RunSummary(&run).phrase(Lang::ZhCn), "离线；待发送 3 项");
    }
}
