//! `GET /v1/disclosures?after=&limit=&wait=`: the credit system's feed of disclosures, in a
//! stable order, with a cursor that stays valid across restarts (the feed position), and
//! long-polling with `wait`.

use crate::error::{ApiError, ApiQuery};
use crate::guard::{FeedsAndAdmins, Require};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use spotcheck_credit::CreditStore;
use std::sync::Arc;
use std::time::Duration;

/// Most items one page holds.
pub const MAX_LIMIT: usize = 1000;
/// Longest a request may wait for something new.
pub const MAX_WAIT_SECS: u64 = 60;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The `next` of the previous answer; omitted = from the start.
    pub after: Option<String>,
    /// Items per page (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Seconds to wait for a new disclosure when there is none (at most 60).
    #[param(maximum = 60)]
    pub wait: Option<u64>,
}

/// Disclosures after the cursor: `{"items": [...], "next": "CURSOR"}`.
#[utoipa::path(
    get,
    path = "/v1/disclosures",
    tag = "credit",
    params(FeedQuery),
    responses(
        (status = 200, description = "`{\"items\": [disclosure...], \"next\": \"CURSOR\"}`; ask again with `after=next`", body = Object),
        (status = 400, description = "A cursor that is not one this feed gave", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown token", body = crate::error::ErrorBody),
        (status = 403, description = "Not a feed or admin token", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_disclosures(
    _: Require<FeedsAndAdmins>,
    State(feed): State<Arc<CreditStore>>,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(cursor) => cursor.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "after={cursor} is not a cursor of this feed: use the `next` of a previous answer"
            ))
        })?,
    };
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
    let wait = Duration::from_secs(query.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    let page = feed
        .page_waiting(after, limit, wait)
        .await
        .map_err(|e| ApiError::internal(format!("cannot read the feed: {e}")))?;
    Ok(Json(
        json!({ "items": page.items, "next": page.next.to_string() }),
    ))
}
