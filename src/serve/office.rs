//! Head office: the till API's lists and the order detail, scoped by the role of the operator signed in at the
//! till (their operator session, checked here): an owner sees every store of the merchant, back office the till's
//! store, a cashier only the orders they took. The lists reuse the back office's queries (`store::order_query`:
//! filters and keyset pages). May import the store's queries and the till API's shapes.

use super::gateway::{paid_family, recorded_trade};
use super::{Backend, Till, acquirer_refs, feed_order, internal};
use crate::channel::backend::api::{
    ApiError, FeedQuery, ListedRefund, OrderDetail, OrderList, QueryAnswer, QueryResponse, RefundList, RefundListQuery,
    TimelineEvent, Trade,
};
use crate::model::{Operator, OperatorId, Order, OrderStatus, Role, StoreId};
use crate::store::order_query::{OrderFilter, OrderSort, PageKey};
use crate::store::serve::RefundQuery;
use crate::store::{Store, StoreError};

/// What a signed-in operator may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// An owner: every store of the merchant.
    AllStores,
    /// Back office: the till's store.
    Store(StoreId),
    /// A cashier: the orders they took at the till's store.
    OwnOrders(StoreId, OperatorId),
}

impl Scope {
    /// The scope of `operator` signed in at `till`.
    pub fn of(till: &Till, operator: &Operator) -> Scope {
        match operator.role {
            Role::Owner => Scope::AllStores,
            Role::BackOffice => Scope::Store(till.store_id),
            Role::Cashier => Scope::OwnOrders(till.store_id, operator.id),
        }
    }

    pub fn allows(self, order: &Order) -> bool {
        match self {
            Scope::AllStores => true,
            Scope::Store(s) => order.store_id == s,
            Scope::OwnOrders(s, op) => order.store_id == s && order.operator_id == Some(op),
        }
    }

    /// The store and operator a list may show, given the store asked for.
    fn narrow(self, asked: Option<StoreId>) -> Result<(Option<StoreId>, Option<OperatorId>), ApiError> {
        let own = |s: StoreId| match asked {
            Some(other) if other != s => Err(ApiError::NotYourStore),
            _ => Ok(Some(s)),
        };
        match self {
            Scope::AllStores => Ok((asked, None)),
            Scope::Store(s) => Ok((own(s)?, None)),
            Scope::OwnOrders(s, op) => Ok((own(s)?, Some(op))),
        }
    }
}

fn bad(field: &str, detail: &str) -> ApiError {
    ApiError::BadRequest { field: field.into(), detail: detail.into() }
}

/// A list's `after`: `created_at~id` of the last order of the previous page.
fn page_key(after: Option<&str>) -> Result<Option<PageKey>, ApiError> {
    let Some(after) = after.map(str::trim).filter(|a| !a.is_empty()) else { return Ok(None) };
    let (at, id) = after.rsplit_once('~').ok_or_else(|| bad("after", "the next of the previous page"))?;
    let id = id.parse::<i64>().map_err(|_| bad("after", "the next of the previous page"))?;
    Ok(Some(PageKey::Time(at.to_owned(), id)))
}

fn store_id(s: &Store, code: Option<&str>) -> Result<Result<Option<StoreId>, ApiError>, StoreError> {
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else { return Ok(Ok(None)) };
    Ok(match s.store_by_code(code)? {
        Some(shop) => Ok(Some(shop.id)),
        None => Err(ApiError::NotFound { what: format!("store {code}") }),
    })
}

impl Backend {
    /// The operator signed in at `till` whose session the request carries, when it carries a valid one.
    pub fn scope(&self, till: &Till, session: Option<&str>) -> Result<Scope, ApiError> {
        let operator = self.session_operator(till, session)?;
        Ok(Scope::of(till, &operator))
    }

    /// `GET /v1/orders` without `since`: the list, newest first, scoped.
    pub fn order_list(&self, scope: Scope, q: &FeedQuery) -> Result<OrderList, ApiError> {
        let limit = q.limit.unwrap_or(50).clamp(1, 200);
        let after = page_key(q.after.as_deref())?;
        let mut statuses = Vec::new();
        for word in q.status.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|w| !w.is_empty()) {
            statuses.push(OrderStatus::parse(word).ok_or_else(|| bad("status", word))?);
        }
        self.with_store(|s| {
            let asked = match store_id(s, q.store.as_deref())? {
                Ok(asked) => asked,
                Err(e) => return Ok(Err(e)),
            };
            let (store, operator) = match scope.narrow(asked) {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            let filter = OrderFilter {
                from: q.from.clone(),
                to: q.to.clone(),
                store,
                statuses: statuses.clone(),
                operator,
                search: q.search.clone().filter(|t| !t.trim().is_empty()),
                ..OrderFilter::default()
            };
            let (page, _) = s.orders_page(&filter, OrderSort::NewestFirst, after.as_ref(), limit + 1)?;
            let more = page.len() > limit as usize;
            let acquirers = acquirer_refs(s)?;
            let mut orders = Vec::with_capacity(page.len());
            let mut next = None;
            for o in page.into_iter().take(limit as usize) {
                next = Some(format!("{}~{}", o.created_at, o.id.0));
                let refunds = s.refunds_of(o.id)?;
                orders.push(feed_order(s, &acquirers, o, refunds, 0)?);
            }
            Ok(Ok(OrderList { orders, next: next.filter(|_| more) }))
        })
        .map_err(|e: StoreError| internal(&e))?
    }

    /// The record, refunds and timeline of an order.
    pub fn order_detail(&self, order: &Order) -> Result<OrderDetail, ApiError> {
        self.with_store(|s| {
            let acquirers = acquirer_refs(s)?;
            let refunds = s.refunds_of(order.id)?;
            let timeline = s
                .order_events(order.id)?
                .into_iter()
                .map(|e| TimelineEvent { at: e.at, kind: e.kind, detail: e.detail })
                .collect();
            Ok(OrderDetail { order: feed_order(s, &acquirers, order.clone(), refunds, 0)?, timeline })
        })
        .map_err(|e: StoreError| internal(&e))
    }

    /// `GET /v1/orders/{out_trade_no}`: the query of the till's engine, with the order's detail when the signed-in
    /// operator's scope allows it. An owner asking about another store's order gets its record (nothing is asked
    /// of the acquirer: that store's tills follow their own orders).
    pub async fn query_detail(
        &self,
        till: &Till,
        scope: Option<Scope>,
        out_trade_no: &str,
    ) -> Result<QueryResponse, ApiError> {
        let found = self.with_store(|s| s.order_by_out_trade_no(out_trade_no)).map_err(|e| internal(&e))?;
        if let (Some(order), Some(scope)) = (&found, scope)
            && order.store_id != till.store_id
            && scope.allows(order)
        {
            let answer = if paid_family(order.status) {
                QueryAnswer::Paid { trade: recorded_trade(order) }
            } else if matches!(order.status, OrderStatus::Closed | OrderStatus::Cancelled | OrderStatus::Failed) {
                QueryAnswer::Closed { trade: Trade { trade_no: order.trade_no.clone(), ..Trade::default() } }
            } else {
                QueryAnswer::Unknown { reason: format!("the order is {} at the merchant backend", order.status) }
            };
            return Ok(QueryResponse {
                out_trade_no: out_trade_no.into(),
                order_status: Some(order.status),
                order: Some(self.order_detail(order)?),
                answer,
            });
        }
        let mut answer = self.query(till, out_trade_no).await?;
        if let (Some(order), Some(scope)) = (found, scope)
            && scope.allows(&order)
        {
            let now = self.with_store(|s| s.order(order.id)).map_err(|e| internal(&e))?.unwrap_or(order);
            answer.order = Some(self.order_detail(&now)?);
        }
        Ok(answer)
    }

    /// `GET /v1/refunds`: newest first, scoped.
    pub fn refund_list(&self, scope: Scope, q: &RefundListQuery) -> Result<RefundList, ApiError> {
        let limit = q.limit.unwrap_or(50).clamp(1, 200);
        self.with_store(|s| {
            let asked = match store_id(s, q.store.as_deref())? {
                Ok(asked) => asked,
                Err(e) => return Ok(Err(e)),
            };
            let (store, operator) = match scope.narrow(asked) {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            let query = RefundQuery {
                store,
                operator,
                status: q.status,
                from: q.from.clone(),
                to: q.to.clone(),
                search: q.search.clone(),
                before: q.before,
                limit: limit + 1,
            };
            let rows = s.refund_list(&query)?;
            let more = rows.len() > limit as usize;
            let mut refunds = Vec::with_capacity(rows.len());
            let mut next = None;
            for r in rows.into_iter().take(limit as usize) {
                next = Some(r.refund.id.0);
                refunds.push(ListedRefund {
                    till_id: s.refund_till(r.refund.id)?.map(|t| t.0),
                    out_request_no: r.refund.out_request_no,
                    out_trade_no: r.out_trade_no,
                    store_code: r.store_code,
                    refund_amount: r.refund.refund_amount.to_string(),
                    reason: r.refund.reason,
                    status: r.refund.status,
                    created_at: r.refund.created_at,
                });
            }
            Ok(Ok(RefundList { refunds, next: next.filter(|_| more) }))
        })
        .map_err(|e: StoreError| internal(&e))?
    }
}
