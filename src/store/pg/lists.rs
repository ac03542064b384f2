//! The head office's lists on PostgreSQL: orders newest first (keyset pages by creation time and id) and refunds
//! newest first (by id), filtered as the till API asks, the scope already applied by the caller.

use super::orders::{ORDER_COLUMNS, order_from_row};
use super::{PgStore, Result, parse_utc};
use crate::model::{Order, RefundId};
use crate::store::order_query::OrderFilter;
use crate::store::serve::{ListedRefund, RefundQuery};

/// `text` for a LIKE pattern: `%`, `_` and `\` taken literally.
fn like(text: &str) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            other => vec![other],
        })
        .collect();
    format!("%{escaped}%")
}

impl PgStore {
    /// Orders newest first as `filter` asks (store, operator, statuses, times, search), after `after`
    /// (`created_at`, id of the previous page's last), at most `limit`. Amount and acquirer filters are not asked by
    /// the till API and are not applied.
    pub async fn order_list(&self, filter: &OrderFilter, after: Option<(&str, i64)>, limit: u32) -> Result<Vec<Order>> {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let from = filter.from.as_deref().map(parse_utc).transpose()?;
        let to = filter.to.as_deref().map(parse_utc).transpose()?;
        let search = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(like);
        let (after_at, after_id) = match after {
            Some((at, id)) => (Some(parse_utc(at)?), id),
            None => (None, i64::MAX),
        };
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {ORDER_COLUMNS} FROM orders o
                     WHERE ($1::BIGINT IS NULL OR o.store_id = $1) AND ($2::BIGINT IS NULL OR o.operator_id = $2)
                       AND (cardinality($3::TEXT[]) = 0 OR o.status = ANY($3))
                       AND ($4::TIMESTAMPTZ IS NULL OR o.created_at >= $4)
                       AND ($5::TIMESTAMPTZ IS NULL OR o.created_at < $5)
                       AND ($6::TEXT IS NULL OR o.out_trade_no LIKE $6 OR o.trade_no LIKE $6 OR o.subject LIKE $6)
                       AND ($7::TIMESTAMPTZ IS NULL OR (o.created_at, o.id) < ($7, $8))
                     ORDER BY o.created_at DESC, o.id DESC LIMIT $9"
                ),
                &[
                    &filter.store.map(|s| s.0),
                    &filter.operator.map(|o| o.0),
                    &statuses,
                    &from,
                    &to,
                    &search,
                    &after_at,
                    &after_id,
                    &i64::from(limit),
                ],
            )
            .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// Refunds newest first as `q` asks; `store_codes` names the stores (the catalogue's).
    pub async fn refund_list(
        &self,
        q: &RefundQuery,
        store_code: impl Fn(crate::model::StoreId) -> String,
    ) -> Result<Vec<ListedRefund>> {
        let from = q.from.as_deref().map(parse_utc).transpose()?;
        let to = q.to.as_deref().map(parse_utc).transpose()?;
        let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(like);
        let rows = {
            let conn = self.conn().await?;
            conn.query(
                "SELECT r.id, o.out_trade_no, o.store_id FROM refunds r JOIN orders o ON o.id = r.order_id
                 WHERE ($1::BIGINT IS NULL OR o.store_id = $1) AND ($2::BIGINT IS NULL OR o.operator_id = $2)
                   AND ($3::TEXT IS NULL OR r.status = $3)
                   AND ($4::TIMESTAMPTZ IS NULL OR r.created_at >= $4) AND ($5::TIMESTAMPTZ IS NULL OR r.created_at < $5)
                   AND ($6::TEXT IS NULL OR o.out_trade_no LIKE $6 OR r.out_request_no LIKE $6)
                   AND r.id < $7
                 ORDER BY r.id DESC LIMIT $8",
                &[
                    &q.store.map(|s| s.0),
                    &q.operator.map(|o| o.0),
                    &q.status.map(|s| s.as_str()),
                    &from,
                    &to,
                    &search,
                    &q.before.unwrap_or(i64::MAX),
                    &i64::from(q.limit),
                ],
            )
            .await?
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id = RefundId(r.get(0));
            let Some(refund) = self.refund(id).await? else { continue };
            let store = crate::model::StoreId(r.get(2));
            out.push(ListedRefund { refund, out_trade_no: r.get(1), store_code: store_code(store) });
        }
        Ok(out)
    }
}
