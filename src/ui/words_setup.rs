//! The set-up screens' words for what the core returns: acquirer names, onboarding steps and errors, field
//! problems, what a wallet would do with a code, print and file errors. The core gives kinds and values; these
//! phrase them in either language (the command line keeps the core's English `Display`).

use crate::channel::cds::CdsError;
use crate::i18n::{Lang, Phrase, Text};
use crate::model::{Acquirer, AcquirerKind, BindingStatus, ChannelMode};
use crate::mpm::MpmError;
use crate::onboarding::{FieldIssue, OnboardingError, Problem, SANDBOX_ACQUIRERS, Step, WalletLine};
use crate::store::StoreError;
use crate::store::onboarding::OnboardingAcquirer;

/// An acquirer kind's name: 支付宝 / Alipay, 微信支付 / WeChat Pay, Alipay+ 合作机构 / Alipay+ partner.
pub fn kind_name(kind: AcquirerKind, lang: Lang) -> &'static str {
    match kind {
        AcquirerKind::Alipay => lang.pick("支付宝", "Alipay"),
        AcquirerKind::WechatPay => lang.pick("微信支付", "WeChat Pay"),
        AcquirerKind::AlipayPlus => lang.pick("Alipay+ 合作机构", "Alipay+ partner"),
    }
}

/// The "(sandbox)" suffix, in the language's own brackets.
pub fn sandbox_suffix(lang: Lang) -> &'static str {
    lang.pick("（沙箱）", " (sandbox)")
}

fn name_from(kind: AcquirerKind, mode: ChannelMode, code: Option<&str>, lang: Lang) -> String {
    let mut name = kind_name(kind, lang).to_owned();
    // A partner acquirer is told apart by its onboarding id (PARTNER1); Alipay and WeChat Pay by their kind.
    if kind == AcquirerKind::AlipayPlus
        && let Some(code) = code.filter(|c| !c.is_empty())
    {
        name.push(' ');
        name.push_str(code);
    }
    if mode == ChannelMode::Sandbox {
        name.push_str(sandbox_suffix(lang));
    }
    name
}

/// An acquirer's name in the UI's language, phrased from its kind and mode (the stored name is English and stays
/// for the command line).
pub fn acquirer_name(acquirer: &Acquirer, lang: Lang) -> String {
    name_from(acquirer.kind, acquirer.mode, None, lang)
}

/// An onboarding acquirer's name: as [`acquirer_name`], a partner with its onboarding id ("Alipay+ 合作机构 PARTNER1").
pub fn onboarding_acquirer_name(a: &OnboardingAcquirer, lang: Lang) -> String {
    name_from(a.acquirer.kind, a.acquirer.mode, Some(&a.onboarding_code), lang)
}

/// The name for an onboarding id (`ALIPAY`, `PARTNER1`) as steps and errors carry it: from the acquirers known
/// here, else the sandbox's list, else the id itself.
pub fn code_name(code: &str, known: &[OnboardingAcquirer], lang: Lang) -> String {
    if let Some(a) = known.iter().find(|a| a.onboarding_code.eq_ignore_ascii_case(code)) {
        return onboarding_acquirer_name(a, lang);
    }
    match SANDBOX_ACQUIRERS.iter().find(|(c, _, _)| c.eq_ignore_ascii_case(code)) {
        Some((c, _, kind)) => name_from(*kind, ChannelMode::Sandbox, Some(c), lang),
        None => code.to_owned(),
    }
}

/// A binding status in words.
pub fn status_words(status: BindingStatus, lang: Lang) -> &'static str {
    match status {
        BindingStatus::PendingVerification => lang.pick("待审核", "pending verification"),
        BindingStatus::Active => lang.pick("已生效", "active"),
        BindingStatus::Failed => lang.pick("失败", "failed"),
    }
}

/// A step of onboarding, with the acquirers' names taken from `known`.
pub fn step_words(step: &Step, known: &[OnboardingAcquirer], lang: Lang) -> String {
    let name = |code: &str| code_name(code, known, lang);
    match (lang, step) {
        (Lang::ZhCn, Step::Sending { store_code, acquirer }) => {
            format!("正在把门店 {store_code} 的资料发送给{}", name(acquirer))
        }
        (Lang::En, Step::Sending { store_code, acquirer }) => {
            format!("sending store {store_code} to {}", name(acquirer))
        }
        (Lang::ZhCn, Step::Submitted { acquirer, merchant_id, status }) => {
            format!("{}分配了商户号 {merchant_id}（{}）", name(acquirer), status_words(*status, lang))
        }
        (Lang::En, Step::Submitted { acquirer, merchant_id, status }) => {
            format!("{} assigned merchant id {merchant_id} ({})", name(acquirer), status_words(*status, lang))
        }
        (Lang::ZhCn, Step::Verifying { acquirer, merchant_id }) => {
            format!("{}正在审核商户 {merchant_id}", name(acquirer))
        }
        (Lang::En, Step::Verifying { acquirer, merchant_id }) => {
            format!("{} is verifying merchant {merchant_id}", name(acquirer))
        }
        (Lang::ZhCn, Step::Verified { merchant_id }) => format!("审核通过：商户 {merchant_id} 已生效"),
        (Lang::En, Step::Verified { merchant_id }) => format!("verified: merchant {merchant_id} is active"),
        (_, Step::VerifyingAgain) => lang.pick("重新审核中", "being verified again").to_owned(),
        (Lang::ZhCn, Step::Failed { reason: Some(r) }) => format!("审核未通过，收单机构的说明：{r}"),
        (Lang::En, Step::Failed { reason: Some(r) }) => format!("verification failed: {r}"),
        (_, Step::Failed { reason: None }) => lang.pick("审核未通过", "verification failed").to_owned(),
        (Lang::ZhCn, Step::AlreadyActive { acquirer }) => format!("已在{}生效", name(acquirer)),
        (Lang::En, Step::AlreadyActive { acquirer }) => format!("already active with {}", name(acquirer)),
        (Lang::ZhCn, Step::StillPending { waited_secs }) => format!("等待 {waited_secs} 秒后仍在审核"),
        (Lang::En, Step::StillPending { waited_secs }) => format!("still being verified after {waited_secs} s"),
        (Lang::ZhCn, Step::RegisteringCds { acquirer, merchant_id }) => {
            format!("{}正在为商户 {merchant_id} 注册 CDS", name(acquirer))
        }
        (Lang::En, Step::RegisteringCds { acquirer, merchant_id }) => {
            format!("{} registers merchant {merchant_id} on the CDS platform", name(acquirer))
        }
        (Lang::ZhCn, Step::CdsRegistered { platform_id, cds_index } | Step::CodeRead { platform_id, cds_index }) => {
            format!("CDS 平台 {platform_id} · 商户 CDS 索引 {cds_index}")
        }
        (Lang::En, Step::CdsRegistered { platform_id, cds_index } | Step::CodeRead { platform_id, cds_index }) => {
            format!("CDS platform {platform_id} · merchant CDS index {cds_index}")
        }
        (_, Step::AlreadyOnCds) => {
            lang.pick("已在 CDS 平台注册过", "already registered on the CDS platform").to_owned()
        }
        (Lang::ZhCn, Step::CdsRefused { code: Some(c) }) => format!("CDS 平台拒绝（{c}）"),
        (Lang::En, Step::CdsRefused { code: Some(c) }) => format!("the CDS platform refused ({c})"),
        (_, Step::CdsRefused { code: None }) => lang.pick("CDS 平台拒绝", "the CDS platform refused").to_owned(),
        (Lang::ZhCn, Step::LookingUp { cds_index }) => format!("向 CDS 平台查询 {cds_index}"),
        (Lang::En, Step::LookingUp { cds_index }) => format!("asking the CDS platform about {cds_index}"),
        (Lang::ZhCn, Step::Binding { acquirer, merchant_id, cds_index }) => {
            format!("{}把商户 {merchant_id} 绑定到 {cds_index}", name(acquirer))
        }
        (Lang::En, Step::Binding { acquirer, merchant_id, cds_index }) => {
            format!("{} binds merchant {merchant_id} to {cds_index}", name(acquirer))
        }
        (Lang::ZhCn, Step::BindQueued { cds_index }) => {
            format!("绑定 {cds_index} 时 CDS 平台没有应答，已排队由后台同步重发")
        }
        (Lang::En, Step::BindQueued { cds_index }) => {
            format!("no answer from the CDS platform binding {cds_index}; queued for the background sync")
        }
        (Lang::ZhCn, Step::Bound { cds_index, reaches }) => format!(
            "已绑定到商户 CDS 索引 {cds_index}；这张码现在可到达：{}",
            reaches.iter().map(|c| name(c)).collect::<Vec<_>>().join("、")
        ),
        (Lang::En, Step::Bound { cds_index, reaches }) => format!(
            "bound to merchant CDS index {cds_index}; the code now reaches {}",
            reaches.iter().map(|c| name(c)).collect::<Vec<_>>().join(", ")
        ),
        (Lang::ZhCn, Step::Done { store_code, acquirer, issuer_guid, merchant_id }) => {
            format!("门店 {store_code} 已在{}生效；店铺码现在带有 {issuer_guid} / {merchant_id}", name(acquirer))
        }
        (Lang::En, Step::Done { store_code, acquirer, issuer_guid, merchant_id }) => format!(
            "store {store_code} is active with {}; its code now carries {issuer_guid} / {merchant_id}",
            name(acquirer)
        ),
        // Plain words from older versions or the sync worker: in Chinese only the ids in them.
        (Lang::En, Step::Note(text)) => text.clone(),
        (Lang::ZhCn, Step::Note(text)) => ids_in(text),
    }
}

/// The tokens of `text` that hold a digit (merchant ids, CDS indexes): what an English note says that reads the
/// same in Chinese.
fn ids_in(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | ':'))
        .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A step's short name (the timeline's `step` column), for steps written by code that has no [`Step`].
pub fn step_name_words(step: &str, lang: Lang) -> String {
    let (zh, en) = match step {
        "submitting" => ("提交资料", "submitting"),
        "submitted" => ("已提交", "submitted"),
        "pending_verification" => ("待审核", "pending verification"),
        "active" => ("已生效", "active"),
        "failed" => ("失败", "failed"),
        "registering_cds" => ("注册 CDS", "registering on CDS"),
        "cds_registered" => ("已注册 CDS", "registered on CDS"),
        "cds_refused" => ("CDS 拒绝", "refused by CDS"),
        "code_read" => ("已读取店铺码", "code read"),
        "looking_up" => ("查询 CDS", "looking up"),
        "binding" => ("绑定中", "binding"),
        "cds_bound" => ("已绑定 CDS 索引", "bound to CDS index"),
        "cds_bind_queued" => ("已排队重发", "queued"),
        "still_pending" => ("仍在审核", "still pending"),
        "done" => ("完成", "done"),
        _ => ("记录", "note"),
    };
    lang.pick(zh, en).to_owned()
}

/// A field's caption in sentences ("英文名称" / "the Latin display name").
pub fn field_words(field: &str, lang: Lang) -> String {
    let zh = match field {
        "legal_name" => "法定名称",
        "display_name" => "英文名称",
        "display_name_zh" => "中文名称",
        "mcc" => "商户类别码",
        "country" => "国家/地区",
        "city" => "城市（英文）",
        "city_zh" => "城市（中文）",
        "postal_code" => "邮政编码",
        "store_code" => "门店编号",
        "name" => "英文门店名",
        "name_zh" => "中文门店名",
        "address" => "地址",
        "contact" => "联系人",
        _ => "此字段",
    };
    match lang {
        Lang::ZhCn => zh.to_owned(),
        Lang::En => crate::onboarding::profile::field_label_en(field).to_owned(),
    }
}

impl Phrase for FieldIssue {
    fn phrase(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.message();
        }
        let label = field_words(self.field, lang);
        match &self.problem {
            Problem::Required => format!("必须填写{label}"),
            Problem::TooLong { chars, max } => format!(
                "{label}有 {chars} 个字符，{}最多 {max} 个：请删掉 {} 个",
                place_zh(self.field),
                chars.saturating_sub(*max)
            ),
            Problem::NotLatin { found, at } => format!(
                "{label}只能用英文字母、数字、空格和英文标点，第 {at} 个字符是“{found}”{}",
                match crate::onboarding::profile::latin_twin(self.field) {
                    Some(twin) => format!("（中文请填在“{}”）", field_words(twin, lang)),
                    None => String::new(),
                }
            ),
            Problem::BadMcc(got) => format!("商户类别码须为 4 位数字（ISO 18245，如 5812），现在是“{got}”"),
            Problem::BadCountry(got) => format!("国家/地区须为两个大写字母（ISO 3166，如 CN），现在是“{got}”"),
            Problem::ChineseNameNeeded => "填写了中文城市时，必须填写中文名称（标签 64/01）".to_owned(),
            Problem::EdgeSpace => "门店编号的开头和结尾不能有空格".to_owned(),
            Problem::StoreCodeTaken { store_code, by } => format!("门店编号“{store_code}”已被门店“{by}”使用"),
            Problem::Unprintable(chars) => format!(
                "本机没有字体能打印“{}”，店铺码无法印出此名称：请修改名称，或安装包含这些字的字体",
                chars.iter().collect::<String>()
            ),
        }
    }
}

fn place_zh(field: &str) -> &'static str {
    match field {
        "legal_name" => "收单机构",
        "display_name" => "店铺码（标签 59）",
        "display_name_zh" => "店铺码（标签 64/01）",
        "city" => "店铺码（标签 60）",
        "city_zh" => "店铺码（标签 64/02）",
        "postal_code" => "店铺码（标签 61）",
        "store_code" => "店铺码（标签 62/03）",
        _ => "收单机构",
    }
}

impl Phrase for WalletLine {
    fn phrase(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::ZhCn, WalletLine::Reference { guid, merchant_id }) => {
                format!("参考数据：认识收单机构 {guid} 的钱包付款给其商户 {merchant_id}")
            }
            (Lang::En, WalletLine::Reference { guid, merchant_id }) => {
                format!("reference data: a wallet that knows acquirer {guid} pays its merchant {merchant_id}")
            }
            (Lang::ZhCn, WalletLine::Cds { platform_id, cds_index }) => {
                format!("CDS 数据：平台 {platform_id} · 商户 CDS 索引 {cds_index}")
            }
            (Lang::En, WalletLine::Cds { platform_id, cds_index }) => {
                format!("CDS data: platform {platform_id} · merchant CDS index {cds_index}")
            }
            (_, WalletLine::NoAcquirerBound) => lang
                .pick(
                    "CDS 平台认识该索引，但还没有收单机构绑定到它",
                    "the CDS platform knows the index but no acquirer is bound to it",
                )
                .to_owned(),
            (_, WalletLine::Reaches { name: _, acquirer_code, protocol, merchant_id }) => {
                let name = code_name(acquirer_code, &[], lang);
                let wallet = match protocol.as_str() {
                    "wechatpay" => lang.pick("微信支付", "WeChat Pay"),
                    _ => lang.pick("支付宝", "Alipay"),
                };
                match lang {
                    Lang::ZhCn => format!("可到达{name}（{acquirer_code}，{wallet}钱包），商户号 {merchant_id}"),
                    Lang::En => {
                        format!("reaches {name} ({acquirer_code}, {wallet} wallets) as merchant {merchant_id}")
                    }
                }
            }
            (Lang::ZhCn, WalletLine::LookupFailed(_)) => "CDS 平台查询失败（详情见日志）".to_owned(),
            (Lang::En, WalletLine::LookupFailed(e)) => format!("CDS lookup failed: {e}"),
            (_, WalletLine::NotLookedUp) => {
                lang.pick("未向 CDS 平台查询", "not looked up on the CDS platform").to_owned()
            }
            (_, WalletLine::Nothing) => lang
                .pick(
                    "这张码没有 TillDesk 能识别的收单机构，也没有 CDS 数据",
                    "the code names no acquirer TillDesk can read and has no CDS data",
                )
                .to_owned(),
        }
    }
}

/// A database error: in Chinese a plain sentence (the detail goes to the log), in English the core's words.
pub fn store_error_words(e: &StoreError, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => {
            tracing::warn!(error = %e, "database error shown to the person");
            "数据库出错，请重试；仍不行请查看日志".to_owned()
        }
        Lang::En => format!("database error: {e}"),
    }
}

/// A code that cannot be read or used.
pub fn code_error_words(e: &MpmError, lang: Lang) -> String {
    match (lang, e) {
        (Lang::ZhCn, MpmError::NoCdsData) => {
            "这张码不带 CDS 数据，无法绑定其他收单机构：请先用“入驻并注册 CDS”生成带 CDS 的码".to_owned()
        }
        (Lang::ZhCn, MpmError::Empty) => "码内容为空：请粘贴以 000201… 或 HTTPS://…/MPM/3/… 开头的收款码".to_owned(),
        // Refusals of building a store's code (its format or its acquirers), not of reading one.
        (Lang::ZhCn, MpmError::AlipayPlusSingleIssuer { count }) => format!(
            "Alipay+ MPM 码只能写明发码的一家收单机构，但该门店有 {count} 家：请改用 EMVCo 或“自动”格式，或生成带 CDS 的码再把其他收单机构绑定到 CDS 平台"
        ),
        (Lang::ZhCn, MpmError::TooManyReferences { count, max }) => format!(
            "该门店有 {count} 家收单机构，EMVCo 码最多写明 {max} 家（标签 26–50）：请减少 {} 家，或生成带 CDS 的码",
            count.saturating_sub(*max)
        ),
        (Lang::ZhCn, _) => {
            tracing::warn!(error = %e, "unreadable code");
            "无法识别这张码：它已损坏，或不是收款码".to_owned()
        }
        (Lang::En, e) => format!("the code cannot be used: {e}"),
    }
}

/// An answer (or none) from the onboarding/CDS server.
pub fn platform_error_words(e: &CdsError, lang: Lang) -> String {
    match (lang, e) {
        (Lang::ZhCn, CdsError::BadUrl { url, .. }) => format!("入驻服务地址“{url}”不是可用的 http(s) 地址"),
        (Lang::ZhCn, CdsError::Refused { code, status, .. }) => {
            format!("收单机构或 CDS 平台拒绝了请求（{code}，HTTP {status}）")
        }
        (Lang::ZhCn, CdsError::Transport { url, .. }) => {
            format!("{url} 没有应答：请检查网络，以及收单机构的地址是否正确")
        }
        (Lang::ZhCn, CdsError::BadResponse { url, status, .. }) => {
            format!("{url} 的应答无法读取（HTTP {status}）")
        }
        (Lang::En, e) => e.to_string(),
    }
}

impl Phrase for OnboardingError {
    fn phrase(&self, lang: Lang) -> String {
        let name = |code: &str| code_name(code, &[], lang);
        use OnboardingError as E;
        match (lang, self) {
            (_, E::Store(e)) => store_error_words(e, lang),
            (_, E::Code(e)) => code_error_words(e, lang),
            (_, E::Platform(e)) => platform_error_words(e, lang),
            (Lang::ZhCn, E::BindQueued { acquirer, cds_index }) => format!(
                "把{}绑定到 {cds_index} 时 CDS 平台没有应答；请求已排队，后台同步会一直重发直到平台应答",
                name(acquirer)
            ),
            (Lang::ZhCn, E::File { path, .. }) => {
                format!("无法读取文件 {path}：它不存在、无法打开，或不是可识别的码图片")
            }
            (Lang::ZhCn, E::UnknownStore(s)) => format!("没有门店 {s}"),
            (Lang::ZhCn, E::UnknownAcquirer(a)) => format!("没有带入驻编号的收单机构 {a}"),
            (_, E::InvalidProfile(issues)) => format!(
                "{}{}",
                lang.pick("请先修正商户资料和门店：", "fix the merchant profile and store before onboarding: "),
                issues
                    .iter()
                    .map(|i| format!("{}{}{}", field_words(i.field, lang), lang.pick("：", ": "), i.phrase(lang)))
                    .collect::<Vec<_>>()
                    .join(lang.pick("；", "; "))
            ),
            (Lang::ZhCn, E::AlreadyOnboarded { store_code, acquirer, merchant_id }) => {
                format!("门店 {store_code} 已在{}入驻（商户号 {merchant_id}）", name(acquirer))
            }
            (Lang::ZhCn, E::StoreHasCdsIndex { store_code, cds_index, acquirer }) => format!(
                "门店 {store_code} 已通过{}取得商户 CDS 索引 {cds_index}：请把其他收单机构绑定到它现有的店铺码，不要重复注册",
                name(acquirer)
            ),
            (Lang::ZhCn, E::AlreadyBound { acquirer, cds_index }) => {
                format!("{}已绑定到商户 CDS 索引 {cds_index}，不能重复绑定", name(acquirer))
            }
            (Lang::ZhCn, E::UnknownCdsIndex { cds_index }) => {
                format!("CDS 平台没有商户索引 {cds_index}：这张码不是在此平台注册的，或输入有误")
            }
            (Lang::ZhCn, E::WrongPlatform { in_code, asked }) => {
                format!("这张码属于 CDS 平台 {in_code}，但查询的是平台 {asked}")
            }
            (Lang::ZhCn, E::CodeOfAnotherStore { cds_index, owner, store_code }) => format!(
                "这张码的商户 CDS 索引 {cds_index} 属于门店 {owner}，不是门店 {store_code}：请打开门店 {store_code} 自己的码"
            ),
            (Lang::ZhCn, E::NotThisStoresCode { cds_index, own_index, store_code }) => format!(
                "这张码的商户 CDS 索引 {cds_index} 不是门店 {store_code} 自己的（{own_index}）：请打开门店 {store_code} 自己的码"
            ),
            (Lang::ZhCn, E::VerificationFailed { acquirer, reason }) => {
                format!("{}未通过审核，收单机构的说明：{reason}", name(acquirer))
            }
            (Lang::ZhCn, E::StillPending { acquirer, merchant_id, waited_secs }) => {
                format!("等待 {waited_secs} 秒后，{}仍在审核商户 {merchant_id}；状态已保存，请稍后刷新", name(acquirer))
            }
            (Lang::ZhCn, E::NotOnboarded { store_code }) => {
                format!("门店 {store_code} 还没有已生效的收单机构，也没有 CDS 索引：请先入驻")
            }
            (Lang::ZhCn, E::Cancelled) => "已取消；已完成的步骤已保存".to_owned(),
            (Lang::En, E::AlreadyOnboarded { store_code, acquirer, merchant_id }) => {
                format!("store {store_code} is already onboarded with {} (merchant id {merchant_id})", name(acquirer))
            }
            (Lang::En, E::AlreadyBound { acquirer, cds_index }) => {
                format!(
                    "{} is already bound to the merchant CDS index {cds_index}; it cannot be bound twice",
                    name(acquirer)
                )
            }
            (Lang::En, E::VerificationFailed { acquirer, reason }) => {
                format!("{} refused the merchant: {reason}", name(acquirer))
            }
            (Lang::En, e) => e.to_string(),
        }
    }
}

/// A database error, worded in both languages (to keep on screen).
pub fn store_error_text(e: &StoreError) -> Text {
    Text::new(store_error_words(e, Lang::ZhCn), store_error_words(e, Lang::En))
}

/// [`crate::ui::Ctx::permit`] with its refusal in both languages, so that it re-words when the language changes.
pub fn permit_text(ctx: &mut crate::ui::Ctx, permission: crate::store::operators::Permission) -> Result<(), Text> {
    let current = ctx.lang;
    ctx.lang = Lang::ZhCn;
    let zh = ctx.permit(permission);
    ctx.lang = Lang::En;
    let en = ctx.permit(permission);
    ctx.lang = current;
    match (zh, en) {
        (Ok(()), _) | (_, Ok(())) => Ok(()),
        (Err(zh), Err(en)) => Err(Text::new(zh, en)),
    }
}

/// Lays `add` out at most `max_width` wide, centred in a wider panel (1920×1080), full width in a narrow one.
pub fn centred<R>(ui: &mut egui::Ui, max_width: f32, add: impl FnOnce(&mut egui::Ui) -> R) -> R {
    let width = ui.available_width();
    if width <= max_width + 48.0 {
        return add(ui);
    }
    let margin = ((width - max_width) / 2.0).floor();
    ui.horizontal_top(|ui| {
        ui.add_space(margin);
        ui.vertical(|ui| {
            ui.set_width(max_width);
            add(ui)
        })
        .inner
    })
    .inner
}

/// Where files a person saves go by default: their Pictures folder, else Documents, else the data folder's
/// `exports/` (never a temporary folder, which the system empties).
pub fn default_save_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    directories::UserDirs::new()
        .and_then(|u| {
            [u.picture_dir(), u.document_dir()].into_iter().flatten().find(|d| d.is_dir()).map(|d| d.to_owned())
        })
        .unwrap_or_else(|| data_dir.join("exports"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AcquirerId;

    fn acquirer(kind: AcquirerKind, name: &str, code: &str) -> OnboardingAcquirer {
        OnboardingAcquirer {
            acquirer: Acquirer {
                id: AcquirerId(1),
                kind,
                name: name.into(),
                mode: ChannelMode::Sandbox,
                gateway_url: String::new(),
            },
            onboarding_code: code.into(),
        }
    }

    #[test]
    fn acquirers_are_named_in_each_language_with_a_phrased_sandbox_suffix() {
        let partner = acquirer(AcquirerKind::AlipayPlus, "Alipay+ partner acquirer (sandbox)", "PARTNER1");
        assert_eq!(onboarding_acquirer_name(&partner, Lang::ZhCn), "Alipay+ 合作机构 PARTNER1（沙箱）");
        assert_eq!(onboarding_acquirer_name(&partner, Lang::En), "Alipay+ partner PARTNER1 (sandbox)");
        let wechat = acquirer(AcquirerKind::WechatPay, "WeChat Pay (sandbox)", "WECHATPAY");
        assert_eq!(onboarding_acquirer_name(&wechat, Lang::ZhCn), "微信支付（沙箱）");
        assert_eq!(acquirer_name(&wechat.acquirer, Lang::En), "WeChat Pay (sandbox)");
        let live = Acquirer { mode: ChannelMode::Live, ..acquirer(AcquirerKind::Alipay, "Alipay", "ALIPAY").acquirer };
        assert_eq!(acquirer_name(&live, Lang::ZhCn), "支付宝");
        // An onboarding id nobody here knows reads as itself; the sandbox's ids are named.
        assert_eq!(code_name("ACME", &[], Lang::ZhCn), "ACME");
        assert_eq!(code_name("ALIPAY", &[], Lang::ZhCn), "支付宝（沙箱）");
    }

    #[test]
    fn steps_are_phrased_from_their_kind_in_both_languages() {
        let step = Step::Sending { store_code: "S001".into(), acquirer: "WECHATPAY".into() };
        assert_eq!(step_words(&step, &[], Lang::ZhCn), "正在把门店 S001 的资料发送给微信支付（沙箱）");
        assert_eq!(step_words(&step, &[], Lang::En), "sending store S001 to WeChat Pay (sandbox)");
        let verified = Step::Verified { merchant_id: "ALIPAYM00000001".into() };
        assert_eq!(step_words(&verified, &[], Lang::ZhCn), "审核通过：商户 ALIPAYM00000001 已生效");
        let pending = Step::Submitted {
            acquirer: "ALIPAY".into(),
            merchant_id: "M1".into(),
            status: BindingStatus::PendingVerification,
        };
        assert!(!step_words(&pending, &[], Lang::ZhCn).contains("pending"), "no status kind in Chinese");
        assert_eq!(step_words(&Step::Note("merchant id ALIPAYM01 (ok)".into()), &[], Lang::ZhCn), "ALIPAYM01");
    }

    #[test]
    fn errors_and_field_problems_are_phrased() {
        let e = OnboardingError::AlreadyBound { acquirer: "WECHATPAY".into(), cds_index: "IDX1".into() };
        assert_eq!(e.phrase(Lang::ZhCn), "微信支付（沙箱）已绑定到商户 CDS 索引 IDX1，不能重复绑定");
        assert!(e.phrase(Lang::En).contains("cannot be bound twice"));
        let issue = FieldIssue::new("name", Problem::NotLatin { found: '人', at: 1 });
        assert_eq!(
            issue.phrase(Lang::ZhCn),
            "英文门店名只能用英文字母、数字、空格和英文标点，第 1 个字符是“人”（中文请填在“中文门店名”）"
        );
        assert!(issue.phrase(Lang::En).starts_with("the Latin store name may only use Latin"));
        assert!(issue.phrase(Lang::En).contains("'人'"));
    }
}
