//! The dashboard of a till enrolled with a merchant backend: the figures are added up there, over every till's
//! orders, as the operator signed in at the till may see them (an owner all stores, back office the till's store, a
//! cashier their own orders), and come back as the same [`Dashboard`] the screen draws. May import channel (the
//! backend client and the till API's shapes).

use time::OffsetDateTime;

use super::{Dashboard, Period};
use crate::channel::backend::BackendClient;
use crate::channel::backend::dashboard::DashboardQuery;
use crate::recon::backend::RemoteError;

/// The figures of `period` at `now` from the backend (`store`: one store's, by its code), and when it added them up
/// (UTC).
pub async fn figures(
    client: &BackendClient,
    period: Period,
    now: OffsetDateTime,
    store: Option<&str>,
) -> Result<(Dashboard, String), RemoteError> {
    let (first, last) = period.days(now);
    let q = DashboardQuery { from: first.to_string(), to: last.to_string(), store: store.map(str::to_owned) };
    let answer = client.dashboard(&q).await?;
    let mut d = Dashboard::try_from(&answer).map_err(|e| RemoteError::Broken(e.to_string()))?;
    d.period = period;
    Ok((d, answer.as_of))
}
