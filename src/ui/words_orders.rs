//! The Orders screen's words: status tags, where an order came from, its timeline's events and why a refund did not
//! go through, phrased from the core's kinds and values in both languages.

use crate::i18n::{Lang, Phrase, Text};
use crate::model::{Acquirer, ChannelMode, OrderSource, OrderStatus};
use crate::refund::RefundError;
use crate::ui::acquirer_words;

/// The status as a coloured tag: paid green, refunded amber, failed and closed grey, waiting for a person red.
pub fn status_tag(ui: &mut egui::Ui, status: OrderStatus, lang: Lang) -> egui::Response {
    let (fill, text) = match status {
        OrderStatus::Paid => (egui::Color32::from_rgb(46, 140, 76), egui::Color32::WHITE),
        OrderStatus::PartiallyRefunded | OrderStatus::Refunded => {
            (egui::Color32::from_rgb(214, 150, 30), egui::Color32::BLACK)
        }
        OrderStatus::Failed | OrderStatus::Closed | OrderStatus::Cancelled => {
            (egui::Color32::from_gray(120), egui::Color32::WHITE)
        }
        OrderStatus::NeedsAttention => (egui::Color32::from_rgb(200, 50, 50), egui::Color32::WHITE),
        OrderStatus::Paying | OrderStatus::Unknown | OrderStatus::Cancelling => {
            (egui::Color32::from_rgb(66, 133, 214), egui::Color32::WHITE)
        }
    };
    ui.label(egui::RichText::new(status.label(lang)).background_color(fill).color(text))
}

impl Phrase for OrderSource {
    fn phrase(&self, lang: Lang) -> String {
        match self {
            OrderSource::Barcode => lang.pick("扫顾客付款码", "Customer's payment code scanned"),
            OrderSource::StoreCode => lang.pick("顾客扫收款码", "Customer scanned a code"),
        }
        .to_owned()
    }
}

/// A timeline entry in the UI's words: what happened (from its kind) and the values worth showing (amounts, order
/// numbers, the acquirer's code); the core's own English detail stays on hover for the log.
pub fn event_words(kind: &str, detail: &str) -> Text {
    let values = |d: &str| d.split(": ").next().unwrap_or("").trim().to_owned();
    let with = |zh: &str, en: &str, v: String| {
        if v.is_empty() { Text::new(zh, en) } else { Text::new(format!("{zh}：{v}"), format!("{en}: {v}")) }
    };
    let poll_no = detail.split(':').next().filter(|p| p.starts_with('#')).unwrap_or("").to_owned();
    match kind {
        "created" => with("创建订单", "Order created", detail.trim().to_owned()),
        "paid" => Text::new("支付成功", "Paid"),
        "waiting" => Text::new("等待顾客输入密码", "Waiting for the customer's password"),
        "unknown" => Text::new("结果未知，正在查询", "Outcome unknown: checking with the acquirer"),
        "poll" | "probe" => with("向收单机构查询", "Checked with the acquirer", poll_no),
        "query_again" => Text::new("再次查询", "Checked again"),
        "failed" => match acquirer_words::from_detail(detail) {
            Some(reason) => Text::new(format!("支付失败：{}", reason.zh), format!("Payment failed: {}", reason.en)),
            None => Text::new("支付失败", "Payment failed"),
        },
        "cashier_cancel" => Text::new("收银员取消", "The cashier cancelled"),
        "poll_window_closed" => Text::new("等待超时，撤销交易", "No answer in time: cancelling"),
        "closed" => Text::new("交易已关闭", "Trade closed"),
        "cancel" | "reverse" => Text::new("正在撤销交易", "Cancelling the trade"),
        "cancel_confirmed" | "reverse_confirmed" | "sync_cancel_confirmed" => {
            Text::new("交易已撤销", "Trade cancelled")
        }
        "cancel_retry" | "reverse_retry" => with("重试撤销", "Retrying the cancel", poll_no),
        "mismatch" => Text::new("收单机构的金额或商户与订单不符", "The acquirer's figures differ from the order"),
        "needs_attention" => Text::new("需人工处理", "Needs attention"),
        "recovery" => Text::new("重启后继续处理", "Resumed after a restart"),
        "adopted_from_bill" => Text::new("由对账单补录", "Added from the acquirer's bill"),
        "store_code_from_bill" => Text::new("店铺码收款，由对账单补录", "Store-code payment added from the bill"),
        "store_code_paid" => Text::new("顾客扫店铺码付款", "Paid by scanning the store code"),
        "code_shown" => Text::new("已向顾客展示收款码", "Code shown to the customer"),
        "pulled" => Text::new("从商户后台同步", "Copied from the merchant backend"),
        "refund_requested" => with("已申请退款", "Refund requested", values(detail)),
        "refund_submitted" => with("已提交退款", "Refund submitted", values(detail)),
        "refund_processing" => with("退款处理中", "Refund processing", values(detail)),
        "refund_success" => with("退款成功", "Refund succeeded", values(detail)),
        "refund_failed" => with("退款失败", "Refund failed", values(detail)),
        "refund_retry" => with("重试退款", "Retrying the refund", poll_no),
        "refund_total" => Text::new("退款合计已更新", "Refunded total updated"),
        "refund_move_refused" => Text::new("退款状态变更未执行", "A refund status change was not applied"),
        "precreate_again" => Text::new("重新生成收款码", "Code made again"),
        "expired" => Text::new("收款码已过期", "The code expired"),
        "close" => Text::new("正在关闭收款码", "Closing the code"),
        "close_confirmed" => Text::new("收款码已关闭", "Code closed"),
        "close_refused" => Text::new("未关闭：顾客已付款", "Not closed: the customer had paid"),
        "close_retry" => with("重试关闭", "Retrying the close", poll_no),
        "close_pending" => Text::new("关闭待确认", "Close waiting for the acquirer"),
        k if k.ends_with("_refused") => Text::new("状态变更未执行", "A status change was not applied"),
        _ => Text::new("其他记录", "Other record"),
    }
}

/// Why a refund did not go through, in both languages.
pub fn refund_error_text(e: &RefundError) -> Text {
    use crate::store::refunds::RefundRefused as R;
    match e {
        RefundError::NotAllowed(a) => {
            Text::new(crate::ui::staff::auth_words(Lang::ZhCn, a), crate::ui::staff::auth_words(Lang::En, a))
        }
        RefundError::Refused(R::NoSuchOrder(o)) => {
            Text::new(format!("订单 {o} 不存在"), format!("Order {o} does not exist"))
        }
        RefundError::Refused(R::NotPaid { out_trade_no, .. }) => Text::new(
            format!("订单 {out_trade_no} 未支付，不能退款"),
            format!("Order {out_trade_no} is not paid: it cannot be refunded"),
        ),
        RefundError::Refused(R::Zero) => Text::new("退款金额必须大于 0.00", "The refund amount must be more than 0.00"),
        RefundError::Refused(R::TooMuch { refundable, .. }) => {
            Text::new(format!("最多还能退 ¥{refundable}"), format!("At most ¥{refundable} can still be refunded"))
        }
        RefundError::Refused(R::NoReason) => Text::new("请填写退款原因", "A reason is required for every refund"),
        RefundError::Refused(R::TakenBeforeJoining { out_trade_no }) => Text::new(
            format!(
                "订单 {out_trade_no} 是本收银台加入商户后台之前用本机的收单账户收的款，商户后台的收单账户里没有这笔交易：\
                 请在该收单机构的商户平台办理退款"
            ),
            format!(
                "Order {out_trade_no} was taken before this till joined the merchant backend, with an acquirer account \
                 the backend does not hold: refund it in that acquirer's merchant portal"
            ),
        ),
        RefundError::AcquirerRefused(why) => match acquirer_words::from_detail(why) {
            Some(reason) => {
                Text::new(format!("收单机构拒绝退款：{}", reason.zh), format!("The acquirer refused: {}", reason.en))
            }
            None => Text::new("收单机构拒绝了退款", "The acquirer refused the refund"),
        },
        RefundError::NoChannel(_) => Text::new(
            "该收单机构在当前模式下无法连接（密钥或路由未设置）",
            "This acquirer cannot be reached in this mode (keys or route not set)",
        ),
        RefundError::Refused(R::Store(_)) | RefundError::Store(_) => {
            Text::new("读写数据库出错，请重试", "The database could not be read or written: try again")
        }
    }
}

/// The wallet of an acquirer, with "(sandbox)" for a sandbox one.
pub fn acquirer_words_of(acquirers: &[Acquirer], id: crate::model::AcquirerId, lang: Lang) -> String {
    match acquirers.iter().find(|a| a.id == id) {
        Some(a) => {
            let wallet = acquirer_words::wallet_name(a.kind, lang);
            match a.mode {
                ChannelMode::Sandbox => format!("{wallet}{}", lang.pick("（沙箱）", " (sandbox)")),
                ChannelMode::Live => wallet.to_owned(),
            }
        }
        None => "—".to_owned(),
    }
}
