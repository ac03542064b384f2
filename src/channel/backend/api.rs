//! The till API's JSON shapes (`/v1/...`), shared by the backend that serves them (`serve/`) and the till that calls
//! them ([`super::client`]): one definition, so the two sides cannot drift apart.
//!
//! Amounts are text in yuan ("12.34") as on the acquirers' wires; times are UTC RFC 3339 as stored, except
//! `paid_at` inside [`Trade`], which is the acquirer's own wording (China time) exactly as the acquirers' answers
//! carry it. Answers are the acquirers' answers, normalised: the till's engine classifies them exactly as it would
//! the acquirer's own. Errors are `{ "kind": "...", ... }` with values, never sentences.

use serde::{Deserialize, Serialize};

use crate::channel::AuthCode;
use crate::model::{AcquirerKind, ChannelMode, OrderSource, OrderStatus, RefundStatus, Role, Wallet};

/// The version prefix of every path.
pub const PREFIX: &str = "/v1";

/// `POST /v1/enrol`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub code: String,
}

/// The answer to an enrolment: the till's id and token (shown once, kept in the till's vault) and its setup.
#[derive(Clone, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub till_id: i64,
    pub token: String,
    pub till: TillConfig,
}

impl std::fmt::Debug for EnrolResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolResponse").field("till_id", &self.till_id).field("till", &self.till).finish()
    }
}

/// `GET /v1/till`: who the till is and how its store takes payments, for the till's own copy of its routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillConfig {
    pub till_id: i64,
    pub till_name: String,
    pub store: StoreRef,
    /// The backend's profile: sandbox or live.
    pub mode: ChannelMode,
    pub acquirers: Vec<AcquirerRef>,
    pub routes: Vec<RouteRef>,
    /// Every store of the merchant, with its names: an owner signed in at the till sees every store's orders, and
    /// the till names them as the backend does.
    #[serde(default)]
    pub stores: Vec<StoreRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreRef {
    pub store_code: String,
    pub name: String,
    #[serde(default)]
    pub name_zh: String,
}

/// One acquirer account of the backend, as the till names it locally (by onboarding id, else kind and name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquirerRef {
    pub id: i64,
    pub kind: AcquirerKind,
    pub name: String,
    /// The onboarding id (ALIPAY, WECHATPAY, PARTNER1…), when it has one.
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRef {
    pub wallet: Wallet,
    pub acquirer_id: i64,
    #[serde(default)]
    pub merchant_id: Option<String>,
}

/// `POST /v1/pay`: a barcode payment under the till's out_trade_no. `Debug` masks the payment code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayRequest {
    pub out_trade_no: String,
    #[serde(with = "auth_code_text")]
    pub auth_code: AuthCode,
    pub amount: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub terminal_id: Option<String>,
    #[serde(default)]
    pub operator_id: Option<String>,
}

/// What the acquirer said about a trade it knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    #[serde(default)]
    pub trade_no: Option<String>,
    #[serde(default)]
    pub amount: Option<String>,
    /// The acquirer's payment time as it wrote it (China time).
    #[serde(default)]
    pub paid_at: Option<String>,
    #[serde(default)]
    pub buyer: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub merchant_id: Option<String>,
}

/// A definite refusal with the acquirer's (or the backend's) code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: String,
    pub message: String,
}

/// The answer to a pay, as the acquirer classified it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PayAnswer {
    Paid { trade: Trade },
    Waiting { trade: Trade },
    Unknown { reason: String },
    Failed { failure: Refusal },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayResponse {
    pub out_trade_no: String,
    /// The order's status at the backend after this call.
    pub order_status: OrderStatus,
    /// True when the order existed already (the till asked again): the answer is its current state, nothing was
    /// sent to the acquirer.
    #[serde(default)]
    pub replayed: bool,
    #[serde(flatten)]
    pub answer: PayAnswer,
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum QueryAnswer {
    Paid { trade: Trade },
    Waiting { trade: Trade },
    Closed { trade: Trade },
    NotFound,
    Unknown { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryResponse {
    pub out_trade_no: String,
    /// None when the backend has no such order.
    #[serde(default)]
    pub order_status: Option<OrderStatus>,
    /// The order's record, refunds and timeline, when the signed-in operator may see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderDetail>,
    #[serde(flatten)]
    pub answer: QueryAnswer,
}

/// The answer to a cancel / reverse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CancelAnswer {
    Done { refunded: bool },
    Retry { reason: String },
    Failed { failure: Refusal },
    Unknown { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelResponse {
    pub out_trade_no: String,
    #[serde(default)]
    pub order_status: Option<OrderStatus>,
    #[serde(flatten)]
    pub answer: CancelAnswer,
}

/// `POST /v1/precreate`: a dynamic code (主扫) for the till's out_trade_no — the backend writes the order ahead and
/// asks the store's acquirer of `wallet` for the code the customer scans (Alipay `alipay.trade.precreate`, WeChat
/// Pay `unifiedorder` NATIVE). Asked again with the same number, the same code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrecreateRequest {
    pub out_trade_no: String,
    pub wallet: Wallet,
    pub amount: String,
    #[serde(default)]
    pub subject: String,
    /// When the code stops being payable: UTC, RFC 3339, in the future.
    pub expires_at: String,
    #[serde(default)]
    pub terminal_id: Option<String>,
    #[serde(default)]
    pub operator_id: Option<String>,
}

/// The answer to a precreate, as the acquirer classified it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PrecreateAnswer {
    /// The code to show, verbatim (the first one recorded for this number, for good).
    Created {
        code: String,
    },
    /// The number is paid already: query it for the figures.
    AlreadyPaid,
    Failed {
        failure: Refusal,
    },
    /// No trustworthy answer: ask again with the same number, or close it.
    Unknown {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrecreateResponse {
    pub out_trade_no: String,
    pub order_status: OrderStatus,
    #[serde(default)]
    pub replayed: bool,
    #[serde(flatten)]
    pub answer: PrecreateAnswer,
}

/// The answer to `POST /v1/orders/{out_trade_no}/close` (a dynamic code's trade closed at the acquirer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CloseAnswer {
    /// Closed unpaid (or never made): nothing was charged.
    Closed,
    /// The customer paid before the close: a sale.
    AlreadyPaid {
        trade: Trade,
    },
    Retry {
        reason: String,
    },
    Failed {
        failure: Refusal,
    },
    Unknown {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseResponse {
    pub out_trade_no: String,
    #[serde(default)]
    pub order_status: Option<OrderStatus>,
    #[serde(flatten)]
    pub answer: CloseAnswer,
}

/// `POST /v1/refunds` under the till's out_request_no.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub out_trade_no: String,
    pub out_request_no: String,
    pub refund_amount: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Success,
    Processing,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RefundAnswer {
    Accepted {
        state: RefundState,
        #[serde(default)]
        refund_no: Option<String>,
    },
    Failed {
        failure: Refusal,
    },
    Unknown {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResponse {
    pub out_request_no: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub refund_status: Option<RefundStatus>,
    #[serde(default)]
    pub replayed: bool,
    #[serde(flatten)]
    pub answer: RefundAnswer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RefundQueryAnswer {
    Found { state: RefundState },
    NotFound,
    Unknown { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundQueryResponse {
    pub out_request_no: String,
    #[serde(default)]
    pub refund_status: Option<RefundStatus>,
    #[serde(flatten)]
    pub answer: RefundQueryAnswer,
}

/// `GET /v1/orders`: with `since`, the feed (the orders changed after SEQ, oldest change first: the till's store's,
/// every store's for a signed-in owner); without it, the list (needs a signed-in operator, scoped by their role):
/// newest first, filtered by `store` (a store code), `status` (comma-separated), `from`/`to` (UTC RFC 3339, `from`
/// inclusive) and `search` (out_trade_no or trade_no prefix, or a word of the subject), paged by `after` (the
/// `next` of the previous page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedQuery {
    #[serde(default)]
    pub since: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
}

/// A page of the order list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderList {
    /// `seq` is 0 in a list.
    pub orders: Vec<FeedOrder>,
    /// Ask again with `after = next` (None: the last page).
    #[serde(default)]
    pub next: Option<String>,
}

/// One entry of an order's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub at: String,
    pub kind: String,
    pub detail: String,
}

/// An order as the detail shows it: its record with refunds, and its timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub order: FeedOrder,
    pub timeline: Vec<TimelineEvent>,
}

/// `GET /v1/refunds`: needs a signed-in operator, scoped by their role; newest first, filtered by `store`,
/// `status`, `from`/`to` and `search` (out_trade_no or out_request_no), paged by `before` (the `next` of the
/// previous page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundListQuery {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub status: Option<RefundStatus>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub before: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedRefund {
    pub out_request_no: String,
    pub out_trade_no: String,
    pub store_code: String,
    pub refund_amount: String,
    pub reason: String,
    pub status: RefundStatus,
    pub created_at: String,
    /// The till that asked for it (None: made otherwise).
    #[serde(default)]
    pub till_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundList {
    pub refunds: Vec<ListedRefund>,
    #[serde(default)]
    pub next: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPage {
    pub orders: Vec<FeedOrder>,
    /// Ask again with `since = next`.
    pub next: i64,
    /// More changes wait after this page.
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedOrder {
    pub seq: i64,
    pub out_trade_no: String,
    #[serde(default)]
    pub trade_no: Option<String>,
    pub source: OrderSource,
    pub subject: String,
    pub total_amount: String,
    pub refunded_amount: String,
    pub status: OrderStatus,
    #[serde(default)]
    pub auth_code_masked: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub paid_at: Option<String>,
    pub acquirer: AcquirerRef,
    #[serde(default)]
    pub acquirer_merchant_id: Option<String>,
    #[serde(default)]
    pub terminal_id: Option<String>,
    /// The till that took it (None: a store-code payment, or made otherwise).
    #[serde(default)]
    pub till_id: Option<i64>,
    /// Its store (an owner's feed and the lists carry every store's orders).
    #[serde(default)]
    pub store_code: Option<String>,
    #[serde(default)]
    pub refunds: Vec<FeedRefund>,
}

/// `POST /v1/orders/history`: orders this till took before it joined the backend (store-direct, with its own
/// acquirer accounts), finished, sent up once so that head office sees them. The backend records them as its till's
/// orders for its figures and lists, sending nothing to an acquirer about them; a refund of one is made only through
/// an account of the backend's that holds its trade (the acquirer is asked then). Asked again, an order already there
/// is `known`; one it took itself (at this till, through it, before the till left and joined again) is `held`. Each
/// order is checked on its own: a malformed one is `invalid` (the field and what was expected in `detail`), the
/// others are recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    pub orders: Vec<FeedOrder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryResponse {
    pub results: Vec<HistoryResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryResult {
    pub out_trade_no: String,
    pub outcome: HistoryOutcome,
    /// For `invalid`: which field, and what was expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What the backend did with one order of a till's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryOutcome {
    /// Recorded now.
    Recorded,
    /// It had it already as this till's history (sent before).
    Known,
    /// It holds it as an order it took itself (through its own accounts): not history, refunded through it.
    Held,
    /// Still in flight, or waiting for a person: not recorded (it stays at the till).
    NotSettled,
    /// The backend has no acquirer account of that wallet to file it under: not recorded.
    NoAccount,
    /// Malformed (see `detail`): not recorded.
    Invalid,
}

impl HistoryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryOutcome::Recorded => "recorded",
            HistoryOutcome::Known => "known",
            HistoryOutcome::Held => "held",
            HistoryOutcome::NotSettled => "not_settled",
            HistoryOutcome::NoAccount => "no_account",
            HistoryOutcome::Invalid => "invalid",
        }
    }
}

/// The most orders one history request carries.
pub const HISTORY_BATCH: usize = 200;

impl FeedOrder {
    /// An order with its refunds as the till API carries it (`seq` 0 outside the feed).
    pub fn of(
        o: crate::model::Order,
        refunds: Vec<crate::model::Refund>,
        acquirer: AcquirerRef,
        store_code: Option<String>,
        till_id: Option<i64>,
        seq: i64,
    ) -> FeedOrder {
        FeedOrder {
            seq,
            till_id,
            store_code,
            out_trade_no: o.out_trade_no,
            trade_no: o.trade_no,
            source: o.source,
            subject: o.subject,
            total_amount: o.total_amount.to_string(),
            refunded_amount: o.refunded_amount.to_string(),
            status: o.status,
            auth_code_masked: o.auth_code_masked,
            created_at: o.created_at,
            paid_at: o.paid_at,
            acquirer,
            acquirer_merchant_id: o.acquirer_merchant_id,
            terminal_id: o.terminal_id,
            refunds: refunds
                .into_iter()
                .map(|r| FeedRefund {
                    out_request_no: r.out_request_no,
                    refund_amount: r.refund_amount.to_string(),
                    reason: r.reason,
                    status: r.status,
                    created_at: r.created_at,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRefund {
    pub out_request_no: String,
    pub refund_amount: String,
    pub reason: String,
    pub status: RefundStatus,
    pub created_at: String,
}

/// `POST /v1/sign-in`: an operator's name and PIN, checked at the backend. `Debug` masks the PIN.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignInRequest {
    pub name: String,
    pub pin: String,
}

impl std::fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInRequest").field("name", &self.name).finish_non_exhaustive()
    }
}

/// One operator of the backend: never a PIN or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorRef {
    pub operator_id: i64,
    pub name: String,
    pub role: Role,
}

/// The answer to `POST /v1/sign-out` (always `signed_out`: asked again, the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOutResponse {
    pub signed_out: bool,
}

/// The answer to a sign-in: who signed in, their operator session (a bearer token for `X-Operator-Session`, which
/// scopes the lists by their role; `Debug` masks it) and every operator, for the till's list.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignInResponse {
    pub operator: OperatorRef,
    pub session: String,
    pub operators: Vec<OperatorRef>,
}

impl std::fmt::Debug for SignInResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInResponse").field("operator", &self.operator).finish_non_exhaustive()
    }
}

/// `POST /v1/operators`: `by` (an owner) adds an operator; `by` may be left out only for the first owner of a
/// backend that has none. `Debug` masks the PINs.
#[derive(Clone, Serialize, Deserialize)]
pub struct AddOperatorRequest {
    #[serde(default)]
    pub by: Option<SignInRequest>,
    pub name: String,
    pub role: Role,
    pub pin: String,
}

impl std::fmt::Debug for AddOperatorRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddOperatorRequest")
            .field("by", &self.by)
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/operators/pin`: gives `name` a new PIN. `by` is `name` themselves with their current PIN, or an
/// operator allowed to manage staff (an owner) with theirs.
#[derive(Clone, Serialize, Deserialize)]
pub struct ChangePinRequest {
    pub by: SignInRequest,
    pub name: String,
    pub new_pin: String,
}

impl std::fmt::Debug for ChangePinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePinRequest").field("by", &self.by).field("name", &self.name).finish_non_exhaustive()
    }
}

/// `POST /v1/operators/active`: deactivates (`active` false) or reactivates `name`; `by` must be allowed to manage
/// staff. A deactivated operator cannot sign in at any till and their operator sessions end at once. Asking again
/// answers the same.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetActiveRequest {
    pub by: SignInRequest,
    pub name: String,
    pub active: bool,
}

/// The answer to `POST /v1/operators` and `GET /v1/operators`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorsResponse {
    /// The operator just added (POST only).
    #[serde(default)]
    pub added: Option<OperatorRef>,
    /// The operator whose PIN or active flag was just changed.
    #[serde(default)]
    pub changed: Option<OperatorRef>,
    pub operators: Vec<OperatorRef>,
}

/// The answer to `POST /v1/operators/verify`: the operator whose PIN was right (no session: whoever is signed in at
/// the till stays so), and every operator, for the till's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResponse {
    pub operator: OperatorRef,
    pub operators: Vec<OperatorRef>,
}

/// Every error the API answers, as `{ "kind": "...", ... }`. The HTTP status goes with the kind
/// ([`ApiError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApiError {
    /// No `Authorization: Bearer` token, or one this backend never issued.
    #[error("no valid till token")]
    Unauthorized,
    /// The till was revoked: its token works no more.
    #[error("this till was revoked")]
    Revoked,
    #[error("the enrolment code is not known")]
    EnrolmentCodeUnknown,
    #[error("the enrolment code was used already")]
    EnrolmentCodeUsed,
    #[error("the enrolment code has expired")]
    EnrolmentCodeExpired,
    /// The order or refund belongs to another store than the till's.
    #[error("this belongs to another store")]
    NotYourStore,
    /// A body, path or query field that cannot be read.
    #[error("the field {field} cannot be used: {detail}")]
    BadRequest { field: String, detail: String },
    #[error("not a payment code")]
    NotAPaymentCode,
    #[error("the store {store_code} takes no {wallet} codes")]
    NoRoute { store_code: String, wallet: Wallet },
    #[error("the acquirer of store {store_code} is not set up: {detail}")]
    AcquirerUnavailable { store_code: String, detail: String },
    #[error("the amount {amount} is more than {max}")]
    AmountTooLarge { amount: String, max: String },
    /// The till cancelled this out_trade_no before its payment arrived: it is never charged.
    #[error("out_trade_no {out_trade_no} was cancelled before its payment arrived")]
    OrderClosed { out_trade_no: String },
    /// The refund cannot be written: `reason` is `no_such_order`, `not_paid`, `zero`, `no_reason` or `too_much`.
    #[error("the refund is refused ({reason})")]
    RefundRefused {
        reason: String,
        #[serde(default)]
        refundable: Option<String>,
    },
    /// This out_request_no names another refund (another order or amount, or another till's).
    #[error("out_request_no {out_request_no} is taken by another refund")]
    OutRequestNoTaken { out_request_no: String },
    /// A known order number was asked with other figures (another amount).
    #[error("out_trade_no {out_trade_no} is taken by another order")]
    OutTradeNoTaken { out_trade_no: String },
    /// A sign-in refused: a name nobody has and a wrong PIN alike.
    #[error("the name or the PIN is wrong")]
    NameOrPin,
    /// Too many wrong PINs: the operator may try again after `seconds`.
    #[error("too many wrong PINs: try again in {seconds} s")]
    LockedOut { seconds: i64 },
    /// The signed-in operator's role may not do this (`permission`: `manage_staff`…).
    #[error("a {role} may not {permission}")]
    NotAllowed { role: Role, permission: String },
    /// The call needs a signed-in operator (`X-Operator-Session`), or the session expired.
    #[error("an operator must sign in first")]
    SignInRequired,
    #[error("there is already an operator called {name:?}")]
    OperatorTaken { name: String },
    /// The new operator's PIN: `min` to 12 digits for their role.
    #[error("the PIN must be {min} to 12 digits")]
    PinFormat { min: usize },
    #[error("there is no {what}")]
    NotFound { what: String },
    /// No operator has this name (changing a PIN, deactivating).
    #[error("there is no operator called {name:?}")]
    NoSuchOperator { name: String },
    /// The last active owner cannot be deactivated.
    #[error("{name} is the only active owner")]
    LastOwner { name: String },
    /// What this backend's database engine does not do yet (`what`: `reconciliation` on PostgreSQL).
    #[error("the merchant backend does not do {what} on its database engine yet")]
    NotOnThisEngine { what: String },
    /// A reconciliation change the data does not allow (see [`ReconRefusal`]).
    #[error("the reconciliation change is refused ({refusal:?})")]
    ReconRefused { refusal: ReconRefusal },
    /// The backend's own database or a bug; the detail is in its log.
    #[error("the backend failed")]
    Internal,
}

impl ApiError {
    /// The HTTP status that goes with the kind.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized | ApiError::Revoked => 401,
            ApiError::EnrolmentCodeUnknown | ApiError::EnrolmentCodeUsed | ApiError::EnrolmentCodeExpired => 403,
            ApiError::NotYourStore | ApiError::NotAllowed { .. } => 403,
            ApiError::NameOrPin | ApiError::SignInRequired => 401,
            ApiError::LockedOut { .. } => 429,
            ApiError::OperatorTaken { .. } => 409,
            ApiError::PinFormat { .. } => 400,
            ApiError::BadRequest { .. } | ApiError::NotAPaymentCode => 400,
            ApiError::NotFound { .. } | ApiError::NoSuchOperator { .. } => 404,
            ApiError::LastOwner { .. } => 409,
            ApiError::OrderClosed { .. } | ApiError::OutRequestNoTaken { .. } | ApiError::OutTradeNoTaken { .. } => 409,
            ApiError::NoRoute { .. }
            | ApiError::AcquirerUnavailable { .. }
            | ApiError::AmountTooLarge { .. }
            | ApiError::RefundRefused { .. } => 422,
            ApiError::NotOnThisEngine { .. } => 501,
            ApiError::ReconRefused { .. } => 409,
            ApiError::Internal => 500,
        }
    }

    /// The kind's name as it travels (`not_your_store`…).
    pub fn kind(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "internal".into())
    }
}

/// What a shift report is: a cashier's shift closed at a till (交接班), or a store's day close there (日结).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShiftKind {
    Shift,
    DayClose,
}

impl ShiftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ShiftKind::Shift => "shift",
            ShiftKind::DayClose => "day_close",
        }
    }

    pub fn parse(text: &str) -> Option<ShiftKind> {
        match text {
            "shift" => Some(ShiftKind::Shift),
            "day_close" => Some(ShiftKind::DayClose),
            _ => None,
        }
    }
}

/// A shift's or a day's totals, in yuan text ("12.34").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftFigures {
    pub paid_count: i64,
    pub paid: String,
    pub refund_count: i64,
    pub refunded: String,
    pub net: String,
}

/// `POST /v1/shifts`: a shift or a day close the till closed, with its frozen figures and summary (the slip as the
/// till printed it, JSON). `till_ref` is the till's own number of it: sent again, nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftReport {
    pub kind: ShiftKind,
    pub till_ref: i64,
    /// The cashier of a shift; who closed a day.
    pub operator: String,
    #[serde(default)]
    pub opened_at: Option<String>,
    /// UTC RFC 3339.
    pub closed_at: String,
    /// A day close's China business day, YYYY-MM-DD.
    #[serde(default)]
    pub business_day: Option<String>,
    pub figures: ShiftFigures,
    pub summary: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftReported {
    /// The backend's number of the report.
    pub id: i64,
    /// False: it had it already.
    pub new: bool,
}

/// `GET /v1/shifts`: the tills' shift reports newest first, filtered by `store` (code), `kind`, `from`/`to` (China
/// days of the close, YYYY-MM-DD, inclusive), paged by `after` (the `next` of the previous page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftQuery {
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub kind: Option<ShiftKind>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub after: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One report in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftReportLine {
    pub id: i64,
    pub kind: ShiftKind,
    pub till_id: i64,
    pub till_name: String,
    pub store_code: String,
    pub operator: String,
    pub opened_at: Option<String>,
    pub closed_at: String,
    pub business_day: Option<String>,
    pub figures: ShiftFigures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftReportList {
    pub reports: Vec<ShiftReportLine>,
    pub next: Option<i64>,
}

/// `GET /v1/recon/runs`: the reconciliation runs newest first, filtered by `store` (code), `acquirer` (the
/// backend's account id, its onboarding id such as ALIPAY, or `alipay` / `wechatpay`), `from`/`to` (bill days,
/// YYYY-MM-DD, inclusive), paged by `after` (the `next` of the previous page, a run id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconRunQuery {
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub acquirer: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub after: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A count and its sum (yuan text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountSum {
    pub count: i64,
    pub amount: String,
}

/// One reconciliation run of an acquirer account's day, as far as the signed-in operator may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconRun {
    pub run_id: i64,
    pub acquirer: AcquirerRef,
    /// The acquirer's day, YYYY-MM-DD (China).
    pub bill_date: String,
    /// UTC RFC 3339.
    pub started_at: String,
    /// The stores whose money the day's bill lists (for back office: theirs).
    pub stores: Vec<String>,
    /// Its differences (for back office: their store's), and how many of them are open.
    pub differences: i64,
    pub open: i64,
    /// The day is closed at the backend (its report frozen).
    pub closed: bool,
    /// Who closed the day and when (UTC RFC 3339), while it is closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    /// This run is its day's latest: only the latest run's differences are resolved, and the day closed from it.
    #[serde(default = "yes")]
    pub latest: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconRunList {
    pub runs: Vec<ReconRun>,
    /// The `after` of the next page; None on the last.
    pub next: Option<i64>,
}

/// One field of a difference that differs: its name (`amount`, `status`, `fee`, `refund_amount`, `time`,
/// `merchant_id`) and both values as the report writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconField {
    pub field: String,
    pub bill: String,
    pub local: String,
}

/// One difference of a run: one-sided (only in the bill, only at the backend), mismatched amounts or statuses,
/// refunds, fields (time, merchant id, fee). `reason` names why (`no_local_order`, `missing_from_bill`,
/// `payment_amount`, `refunded_only_at_acquirer`…, the report's reasons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconDifference {
    pub id: i64,
    /// The store it belongs to (its order's, else its bill row's); None when it names neither.
    pub store_code: Option<String>,
    pub kind: crate::model::DiscrepancyKind,
    pub reason: String,
    pub out_trade_no: Option<String>,
    pub trade_no: Option<String>,
    pub out_request_no: Option<String>,
    /// Yuan text.
    pub local_amount: Option<String>,
    pub bill_amount: Option<String>,
    pub local_status: Option<String>,
    pub bill_status: Option<String>,
    pub bill_line: Option<i64>,
    /// UTC RFC 3339.
    pub occurred_at: Option<String>,
    pub subject: String,
    #[serde(default)]
    pub fields: Vec<ReconField>,
    pub resolved: bool,
    pub note: Option<String>,
    /// How it was resolved (`adjusted`, `refunded`, `written_off`, `matched`, `adopted`).
    pub resolution: Option<String>,
}

/// Per kind of difference: how many, and the sums on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconKindTotal {
    pub kind: crate::model::DiscrepancyKind,
    pub count: i64,
    pub bill_amount: String,
    pub local_amount: String,
}

/// The day's money in the bill (of the store the view is narrowed to, or the whole bill), and what the whole
/// report matched (the whole bill only: matching is per account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconTotals {
    /// The bill's rows.
    pub rows: i64,
    pub payments: CountSum,
    pub refunds: CountSum,
    /// The acquirer's fees, exact ("0.04000", signed as the bill writes them).
    pub fee: String,
    #[serde(default)]
    pub matched: Option<CountSum>,
    #[serde(default)]
    pub matched_refunds: Option<CountSum>,
    /// Orders and refunds near the day's edges waiting for the neighbouring day's bill.
    #[serde(default)]
    pub pending: Option<CountSum>,
    /// What the merchant receives: settled amounts less fees.
    #[serde(default)]
    pub net: Option<String>,
}

/// `GET /v1/recon/runs/{run_id}` (`?store=` narrows an owner's view to one store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconReport {
    pub run: ReconRun,
    /// The store the view is narrowed to (back office: always theirs); None: the whole bill, every store.
    pub store: Option<String>,
    pub totals: ReconTotals,
    pub kinds: Vec<ReconKindTotal>,
    pub discrepancies: Vec<ReconDifference>,
    /// About the bills themselves (totals that do not add up).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// `POST /v1/recon/differences/{id}/resolve`: how a difference of its day's latest run was resolved, with the
/// clerk's note. `matched` needs the bill row (`bill_line` or `trade_no`, a row of the same day's bills that the
/// run lists as a difference of its own); `refunded` may name the refund (`out_request_no`); `adopted` records the
/// bill's payment as the order of the difference's store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveRequest {
    pub kind: crate::model::ResolutionKind,
    pub note: String,
    #[serde(default)]
    pub out_request_no: Option<String>,
    #[serde(default)]
    pub bill_line: Option<i64>,
    #[serde(default)]
    pub trade_no: Option<String>,
}

/// `POST /v1/recon/differences/{id}/reopen`: takes a resolution back (until the day is closed), with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReopenRequest {
    pub note: String,
}

/// What a resolution or a reopening left: the difference as it is now, and how many of its run (as far as the
/// operator sees) are still open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveResponse {
    pub difference: ReconDifference,
    pub run_id: i64,
    pub open: i64,
    /// `matched`: the bill line it was matched to; `adopted`: the order's out_trade_no.
    #[serde(default)]
    pub bill_line: Option<i64>,
    #[serde(default)]
    pub adopted: Option<String>,
}

/// `POST /v1/recon/days/close` and `/v1/recon/days/reopen`: an acquirer account's day (`acquirer`: the backend's
/// id, an onboarding id such as ALIPAY or PARTNER1, or a protocol with one account). Reopening needs a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRequest {
    pub acquirer: String,
    pub bill_date: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// A day's closing: from which run, by whom and when (UTC RFC 3339). After a reopening: the closing that was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayClosing {
    pub acquirer: AcquirerRef,
    pub bill_date: String,
    pub run_id: i64,
    pub closed_by: String,
    pub closed_at: String,
}

/// Why a resolution, a reopening or a day's closing was refused: the data does not allow it (`refusal` names which,
/// with its values: `{"kind": "recon_refused", "refusal": {"reason": "open_differences", ...}}`). The till phrases it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ReconRefusal {
    NotLatestRun {
        id: i64,
        run: i64,
        latest: i64,
    },
    AlreadyResolved {
        id: i64,
        resolution: String,
    },
    NotResolved {
        id: i64,
    },
    NoteRequired,
    BillRowNotFound {
        what: String,
        bill_date: String,
    },
    BillRowAmbiguous {
        line: i64,
        bill_date: String,
    },
    BillRowMatched {
        line: i64,
        trade_no: String,
    },
    NotLocalOnly {
        id: i64,
        line: i64,
    },
    BillRowResolved {
        line: i64,
        trade_no: String,
        resolution: String,
    },
    BadOutRequestNo {
        out_request_no: String,
    },
    RefundOfAnotherOrder {
        out_request_no: String,
        belongs_to: String,
        expected: String,
    },
    CannotAdopt {
        id: i64,
    },
    NoRun {
        bill_date: String,
    },
    OpenDifferences {
        bill_date: String,
        count: i64,
        run: i64,
    },
    StaleRun {
        bill_date: String,
        run: i64,
    },
    NotClosed {
        bill_date: String,
    },
    /// The day is closed: reopen it first.
    DayClosed {
        bill_date: String,
        closed_by: String,
        closed_at: String,
    },
    /// Back office closes or reopens a day only when its bill lists no other store's money.
    OtherStores {
        bill_date: String,
        stores: Vec<String>,
    },
}

/// `GET /v1/recon/bills`: the days with downloaded bills, newest first, filtered like the runs, paged by `after`
/// (the `next` of the previous page, `YYYY-MM-DD~account id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillDayQuery {
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub acquirer: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One bill file of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillFile {
    pub source_name: String,
    /// `ALL`, `SUCCESS`, `REFUND` (WeChat Pay) or `trade` (Alipay).
    pub bill_type: String,
    pub rows: i64,
    /// UTC RFC 3339.
    pub imported_at: String,
}

/// One store's share of an acquirer account's bills of a day (`store_code` None: rows that name no store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillDay {
    pub store_code: Option<String>,
    pub acquirer: AcquirerRef,
    pub bill_date: String,
    /// The day's bill files (the whole account's).
    pub bills: Vec<BillFile>,
    /// The rows of this store.
    pub rows: i64,
    pub payments: CountSum,
    pub refunds: CountSum,
    /// Exact ("0.04000").
    pub fee: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillDayList {
    pub days: Vec<BillDay>,
    pub next: Option<String>,
}

/// A payment code as JSON text (the one place it is exposed: the request to the backend, like the acquirers').
mod auth_code_text {
    use super::AuthCode;

    pub fn serialize<S: serde::Serializer>(code: &AuthCode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(code.expose())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<AuthCode, D::Error> {
        let text = zeroize::Zeroizing::new(<String as serde::Deserialize>::deserialize(d)?);
        Ok(AuthCode::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_errors_travel_as_tagged_json() {
        let pay = PayResponse {
            out_trade_no: "TD1".into(),
            order_status: OrderStatus::Paid,
            replayed: false,
            answer: PayAnswer::Paid { trade: Trade { trade_no: Some("2026".into()), ..Trade::default() } },
        };
        let json = serde_json::to_value(&pay).unwrap();
        assert_eq!(json["result"], "paid");
        assert_eq!(json["order_status"], "PAID");
        assert_eq!(json["trade"]["trade_no"], "2026");
        assert_eq!(serde_json::from_value::<PayResponse>(json).unwrap(), pay);

        let e = ApiError::NoRoute { store_code: "S001".into(), wallet: Wallet::WechatPay };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json, serde_json::json!({ "kind": "no_route", "store_code": "S001", "wallet": "wechatpay" }));
        assert_eq!((e.kind().as_str(), e.status()), ("no_route", 422));
        assert_eq!(serde_json::from_value::<ApiError>(json).unwrap(), e);
        assert_eq!(serde_json::to_value(ApiError::Revoked).unwrap(), serde_json::json!({ "kind": "revoked" }));
    }

    #[test]
    fn the_payment_code_is_masked_in_debug_and_whole_on_the_wire() {
        let req = PayRequest {
            out_trade_no: "TD1".into(),
            auth_code: AuthCode::new("280000123456780000"),
            amount: "1.00".into(),
            subject: String::new(),
            terminal_id: None,
            operator_id: None,
        };
        assert!(!format!("{req:?}").contains("280000123456780000"));
        let json = serde_json::to_string(&req).unwrap();
        assert!(json.contains("280000123456780000"));
        let back: PayRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back.auth_code.expose(), "280000123456780000");
    }
}

/// `GET /health`: the instance answers (`status` "ok") and the published catalogue version it serves (None: its
/// folder's own catalogue, or a backend on SQLite).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub catalogue_version: Option<i64>,
}
