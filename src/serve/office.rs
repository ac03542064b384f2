//! Head office: the till API's lists and the order detail, scoped by the role of the operator signed in at the
//! till (their operator session, checked here): an owner sees every store of the merchant, back office the till's
//! store, a cashier only the orders they took. The lists reuse the back office's queries (`store::order_query`:
//! filters and keyset pages). May import the store's queries and the till API's shapes.

use super::gateway::{paid_family, recorded_trade};
use super::{Backend, Till, internal};
use crate::channel::backend::api::{
    ApiError, FeedQuery, ListedRefund, OrderDetail, OrderList, QueryAnswer, QueryResponse, RefundList, RefundListQuery,
    TimelineEvent, Trade,
};
use crate::model::{Operator, OperatorId, Order, OrderStatus, Role, StoreId};
use crate::store::order_query::{OrderFilter, OrderSort, PageKey};
use crate::store::serve::RefundQuery;
use crate::store::{Store, StoreError};

/// One page of the order list: `after` is `created_at~id` of the previous page's last.
struct ListPage<'a> {
    filter: OrderFilter,
    after: Option<&'a PageKey>,
    limit: u32,
}

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
    pub(super) fn narrow(self, asked: Option<StoreId>) -> Result<(Option<StoreId>, Option<OperatorId>), ApiError> {
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
    Ok(match s.setup().store_by_code(code)? {
        Some(shop) => Ok(Some(shop.id)),
        None => Err(ApiError::NotFound { what: format!("store {code}") }),
    })
}

impl Backend {
    /// The operator signed in at `till` whose session the request carries, when it carries a valid one.
    pub async fn scope(&self, till: &Till, session: Option<&str>) -> Result<Scope, ApiError> {
        let operator = self.session_operator(till, session).await?;
        Ok(Scope::of(till, &operator))
    }

    /// The store a list asks for by its code (the catalogue's).
    pub(super) fn asked_store(&self, code: Option<&str>) -> Result<Option<StoreId>, ApiError> {
        self.with_store(|s| store_id(s, code)).map_err(|e: StoreError| internal(&e))?
    }

    /// Orders newest first, from the engine the backend runs on.
    async fn list_page(&self, page: ListPage<'_>) -> Result<Vec<Order>, ApiError> {
        match self.pg() {
            Some(pg) => {
                let after = match page.after {
                    Some(PageKey::Time(at, id)) => Some((at.as_str(), *id)),
                    _ => None,
                };
                pg.order_list(&page.filter, after, page.limit).await.map_err(|e| internal(&e))
            }
            None => self
                .with_store(|s| s.orders().orders_page(&page.filter, OrderSort::NewestFirst, page.after, page.limit))
                .map(|(orders, _)| orders)
                .map_err(|e: StoreError| internal(&e)),
        }
    }

    /// `GET /v1/orders` without `since`: the list, newest first, scoped.
    pub async fn order_list(&self, scope: Scope, q: &FeedQuery) -> Result<OrderList, ApiError> {
        let limit = q.limit.unwrap_or(50).clamp(1, 200);
        let after = page_key(q.after.as_deref())?;
        let mut statuses = Vec::new();
        for word in q.status.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|w| !w.is_empty()) {
            statuses.push(OrderStatus::parse(word).ok_or_else(|| bad("status", word))?);
        }
        let asked = self.asked_store(q.store.as_deref())?;
        let (store, operator) = scope.narrow(asked)?;
        let filter = OrderFilter {
            from: q.from.clone(),
            to: q.to.clone(),
            store,
            statuses,
            operator,
            search: q.search.clone().filter(|t| !t.trim().is_empty()),
            ..OrderFilter::default()
        };
        let page = self.list_page(ListPage { filter, after: after.as_ref(), limit: limit + 1 }).await?;
        let more = page.len() > limit as usize;
        let names = self.catalogue_names()?;
        let mut orders = Vec::with_capacity(page.len());
        let mut next = None;
        for o in page.into_iter().take(limit as usize) {
            next = Some(format!("{}~{}", o.created_at, o.id.0));
            let refunds = self.db_refunds_of(o.id).await?;
            orders.push(self.feed_order(&names, o, refunds, 0).await?);
        }
        Ok(OrderList { orders, next: next.filter(|_| more) })
    }

    /// The record, refunds and timeline of an order.
    pub async fn order_detail(&self, order: &Order) -> Result<OrderDetail, ApiError> {
        let names = self.catalogue_names()?;
        let refunds = self.db_refunds_of(order.id).await?;
        let timeline = self
            .db_order_events(order.id)
            .await?
            .into_iter()
            .map(|e| TimelineEvent { at: e.at, kind: e.kind, detail: e.detail })
            .collect();
        Ok(OrderDetail { order: self.feed_order(&names, order.clone(), refunds, 0).await?, timeline })
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
        let found = self.db_order_by_number(out_trade_no).await?;
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
                order: Some(self.order_detail(order).await?),
                answer,
            });
        }
        let mut answer = self.query(till, out_trade_no).await?;
        if let (Some(order), Some(scope)) = (found, scope)
            && scope.allows(&order)
        {
            let now = self.db_order(order.id).await?.unwrap_or(order);
            answer.order = Some(self.order_detail(&now).await?);
        }
        Ok(answer)
    }

    /// `GET /v1/refunds`: newest first, scoped.
    pub async fn refund_list(&self, scope: Scope, q: &RefundListQuery) -> Result<RefundList, ApiError> {
        let limit = q.limit.unwrap_or(50).clamp(1, 200);
        let asked = self.asked_store(q.store.as_deref())?;
        let (store, operator) = scope.narrow(asked)?;
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
        let rows = match self.pg() {
            Some(pg) => {
                let names = self.catalogue_names()?;
                let code = |id: StoreId| names.stores.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
                pg.refund_list(&query, code).await.map_err(|e| internal(&e))?
            }
            None => self.with_store(|s| s.backend().refund_list(&query)).map_err(|e: StoreError| internal(&e))?,
        };
        let more = rows.len() > limit as usize;
        let mut refunds = Vec::with_capacity(rows.len());
        let mut next = None;
        for r in rows.into_iter().take(limit as usize) {
            next = Some(r.refund.id.0);
            refunds.push(ListedRefund {
                till_id: self.db_refund_till(r.refund.id).await?.map(|t| t.0),
                out_request_no: r.refund.out_request_no,
                out_trade_no: r.out_trade_no,
                store_code: r.store_code,
                refund_amount: r.refund.refund_amount.to_string(),
                reason: r.refund.reason,
                status: r.refund.status,
                created_at: r.refund.created_at,
            });
        }
        Ok(RefundList { refunds, next: next.filter(|_| more) })
    }
}
