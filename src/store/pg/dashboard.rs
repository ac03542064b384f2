//! The head office's dashboard on PostgreSQL: a span's orders added up by store, acquirer account, cashier and China
//! hour of day in one grouped scan of the creation-time index (the till's running totals have no counterpart here),
//! and the totals of the spans it is compared with. `crate::dashboard::from_buckets` makes the figures of them.

use super::{PgStore, Result, parse_utc};
use crate::dashboard::Bucket;
use crate::model::{AcquirerId, OperatorId, StoreId};
use crate::money::Amount;
use crate::store::order_query::{OrderFilter, OrderTotals};

/// The statuses whose amount is money taken (as the till's `PAID_STATES`).
const PAID: &str = "('PAID', 'PARTIALLY_REFUNDED', 'REFUNDED')";

/// The WHERE clause of a dashboard's filter ($1 store, $2 operator, $3 from, $4 to).
const WHERE: &str = "WHERE ($1::BIGINT IS NULL OR store_id = $1) AND ($2::BIGINT IS NULL OR operator_id = $2)
                       AND ($3::TIMESTAMPTZ IS NULL OR created_at >= $3) AND ($4::TIMESTAMPTZ IS NULL OR created_at < $4)";

fn totals(r: &tokio_postgres::Row, at: usize) -> OrderTotals {
    OrderTotals {
        count: r.get(at),
        paid_amount: Amount::from_fen(r.get(at + 1)),
        refunded_amount: Amount::from_fen(r.get(at + 2)),
        paid_count: r.get(at + 3),
    }
}

/// The sums every dashboard query selects, in [`totals`]' order.
fn sums() -> String {
    format!(
        "COUNT(*)::BIGINT, COALESCE(SUM(total_amount) FILTER (WHERE status IN {PAID}), 0)::BIGINT,
         COALESCE(SUM(refunded_amount), 0)::BIGINT, (COUNT(*) FILTER (WHERE status IN {PAID}))::BIGINT"
    )
}

impl PgStore {
    /// The orders `filter` matches (store, operator, creation times; nothing else is read) by store, acquirer
    /// account, cashier and hour of day in China time.
    pub async fn dashboard_buckets(&self, filter: &OrderFilter) -> Result<Vec<Bucket>> {
        let (from, to) = bounds(filter)?;
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT store_id, acquirer_id, operator_id,
                    EXTRACT(HOUR FROM (created_at AT TIME ZONE 'UTC') + INTERVAL '8 hours')::INT AS hour, {sums}
             FROM orders {WHERE} GROUP BY 1, 2, 3, 4",
            sums = sums()
        );
        let rows = conn.query(&sql, &[&filter.store.map(|s| s.0), &filter.operator.map(|o| o.0), &from, &to]).await?;
        Ok(rows
            .iter()
            .map(|r| Bucket {
                store: StoreId(r.get(0)),
                acquirer: AcquirerId(r.get(1)),
                operator: r.get::<_, Option<i64>>(2).map(OperatorId),
                hour: u8::try_from(r.get::<_, i32>(3).clamp(0, 23)).unwrap_or(0),
                totals: totals(r, 4),
            })
            .collect())
    }

    /// The count and sums of the orders `filter` matches (store, operator, creation times).
    pub async fn dashboard_totals(&self, filter: &OrderFilter) -> Result<OrderTotals> {
        let (from, to) = bounds(filter)?;
        let conn = self.conn().await?;
        let sql = format!("SELECT {sums} FROM orders {WHERE}", sums = sums());
        let row =
            conn.query_one(&sql, &[&filter.store.map(|s| s.0), &filter.operator.map(|o| o.0), &from, &to]).await?;
        Ok(totals(&row, 0))
    }
}

type Bound = Option<time::OffsetDateTime>;

fn bounds(filter: &OrderFilter) -> Result<(Bound, Bound)> {
    Ok((filter.from.as_deref().map(parse_utc).transpose()?, filter.to.as_deref().map(parse_utc).transpose()?))
}
