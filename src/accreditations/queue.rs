//! The review queue's query: the accreditations of an event matching the organizers' filters, in
//! queue or name order, with their total. The queue pages it, the CSV export streams it whole and
//! batch printing takes its ids.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::badges::{Badge, live_badge_on};
use super::totals::QueueTotals;
use super::{Accreditation, AccreditationStatus, Category, VettingState};
use crate::country::CountryCode;
use crate::db::kept_prepared::KeptPrepared;
use crate::db::schema::{accreditation_counts, accreditations, badges, participants};
use crate::db::search_key;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::pagination::{PageRequest, like_pattern};
use crate::participants::Participant;

/// A queue row with its name sort key, as the database computes it (for the cursor).
pub type QueueRow = (Accreditation, Participant, Option<Badge>, String);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Oldest first (the queue's order).
    #[default]
    Created,
    /// By last name, then first name.
    Name,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    pub status: Option<AccreditationStatus>,
    pub category: Option<Category>,
    /// Where the security services stand (only accreditations the event vets have a state).
    pub vetting_state: Option<VettingState>,
    /// Nationality, ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub exhibitor_id: Option<Uuid>,
    pub delegation_id: Option<Uuid>,
    /// Names and organization, case- and accent-insensitive.
    pub q: Option<String>,
    #[param(inline)]
    pub sort: Option<Sort>,
    /// Only the accreditations the event vets (the vetting queue); not a query parameter.
    #[serde(skip)]
    pub vetted_only: bool,
}

/// Where `row` stands in the order of `sort`: the cursor a page continues from. The name order
/// goes by the name's sort key and the participant; the creation order by the id alone.
pub fn position(sort: Sort, row: &QueueRow) -> (String, Uuid) {
    let (accreditation, participant, _, name) = row;
    match sort {
        Sort::Name => (name.clone(), participant.id),
        Sort::Created => (String::new(), accreditation.id),
    }
}

fn sort_key() -> diesel::expression::SqlLiteral<diesel::sql_types::Text> {
    diesel::dsl::sql::<diesel::sql_types::Text>(
        "search_key(participants.last_name || ' ' || participants.first_name)",
    )
}

/// How many accreditations of the event have `status` and `category` (either may be any), from
/// the counts a trigger keeps (`accreditation_counts`, folded by
/// [`super::totals::run_count_folding`]).
async fn counted(
    mut conn: &AsyncPgConnection,
    event: &Event,
    status: Option<AccreditationStatus>,
    category: Option<Category>,
) -> ApiResult<i64> {
    let mut counters = accreditation_counts::table
        .filter(accreditation_counts::event_id.eq(event.id))
        .into_boxed();
    if let Some(status) = status {
        counters = counters.filter(accreditation_counts::status.eq(status.as_str()));
    }
    if let Some(category) = category {
        counters = counters.filter(accreditation_counts::category.eq(category.as_str()));
    }
    Ok(KeptPrepared(
        counters.select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "coalesce(sum(n), 0)::bigint",
        )),
    )
    .get_result(&mut conn)
    .await?)
}

/// Up to how many matches a search is answered from its matches, looked up in the trigram
/// index and sorted, rather than by walking the queue's order and testing each row. PostgreSQL
/// guesses the share of matches and walks whenever it guesses many: for a search matching 500
/// of 130,000 people that read 107,545 rows for a page of 50 (65 ms), against 11 ms from the
/// matches; for one matching most people, walking finds a page at once while sorting the
/// matches would take the whole event (700 ms). Beyond this many, walking reads at most
/// 50 × event / 1,000 rows a page.
const FEW_MATCHES: i64 = 1_000;

/// How [`find`] answers its total.
pub enum Total<'a> {
    /// Not wanted (the CSV export).
    Skipped,
    /// Counted now (batch printing refuses more than it can print).
    Exact,
    /// From the counters, or as [`QueueTotals`] keeps them (queue pages).
    Recent(&'a QueueTotals),
}

/// The accreditations of an event matching `query`, as rows, with the total. The total's query,
/// when one is needed, is sent along with the rows' (one round trip), except for a queue page's
/// search, whose kept total decides how the rows are read (see [`FEW_MATCHES`]).
pub async fn find(
    conn: &AsyncPgConnection,
    event: &Event,
    query: &QueueQuery,
    page: Option<&PageRequest<(String, Uuid)>>,
    wanted: Total<'_>,
) -> ApiResult<(Vec<QueueRow>, i64)> {
    let country = query
        .country
        .as_deref()
        .map(CountryCode::parse)
        .transpose()
        .map_err(|e| ApiError::validation("country", e.to_string()))?;
    let text = query.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    // `from_matches`: the search's few matches are looked up first (see `FEW_MATCHES`).
    let filtered = |from_matches: bool| {
        let mut q = accreditations::table
            .inner_join(participants::table)
            .left_join(badges::table.on(live_badge_on()))
            .filter(accreditations::event_id.eq(event.id))
            // Redundant, but lets the name order walk `participants_event_sort_idx`.
            .filter(participants::event_id.eq(event.id))
            .into_boxed();
        if let Some(status) = query.status {
            q = q.filter(accreditations::status.eq(status.as_str()));
        }
        if let Some(category) = query.category {
            q = q.filter(accreditations::category.eq(category.as_str()));
        }
        if let Some(state) = query.vetting_state {
            q = q.filter(accreditations::vetting_state.eq(state.as_str()));
        }
        if query.vetted_only {
            q = q.filter(accreditations::vetting_state.is_not_null());
        }
        if let Some(country) = country {
            q = q.filter(participants::nationality.eq(country.as_str().to_owned()));
        }
        if let Some(id) = query.exhibitor_id {
            q = q.filter(participants::exhibitor_id.eq(id));
        }
        if let Some(id) = query.delegation_id {
            q = q.filter(participants::delegation_id.eq(id));
        }
        match text {
            // An array, not `IN (SELECT …)`: PostgreSQL cannot plan its size from a guess.
            Some(text) if from_matches => {
                q = q.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "participants.id = ANY(ARRAY(SELECT id FROM participants \
                         WHERE event_id = ",
                    )
                    .bind::<diesel::sql_types::Uuid, _>(event.id)
                    .sql(" AND search_text LIKE search_key(")
                    .bind::<diesel::sql_types::Text, _>(like_pattern(text))
                    .sql(")))"),
                );
            }
            Some(text) => {
                q = q.filter(participants::search_text.like(search_key(like_pattern(text))));
            }
            None => {}
        }
        q
    };
    // The folded counters know status and category only.
    let uncounted = query.vetting_state.is_some()
        || query.vetted_only
        || country.is_some()
        || query.exhibitor_id.is_some()
        || query.delegation_id.is_some()
        || text.is_some();
    let total = || async {
        let mut conn = conn;
        Ok::<_, ApiError>(match wanted {
            Total::Skipped => 0,
            _ if !uncounted => counted(conn, event, query.status, query.category).await?,
            Total::Exact => filtered(false).count().get_result(&mut conn).await?,
            Total::Recent(recent) => {
                let filters = format!(
                    "{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}",
                    query.status,
                    query.category,
                    query.vetting_state,
                    query.vetted_only,
                    country,
                    query.exhibitor_id,
                    query.delegation_id,
                    text
                );
                recent
                    .get(conn, event.id, filters, || filtered(false).count())
                    .await?
            }
        })
    };
    // The kept total of a search says how many people it matches before the page is read.
    let known = match wanted {
        Total::Recent(_) if text.is_some() => Some(total().await?),
        _ => None,
    };
    let from_matches = known.is_some_and(|total| total <= FEW_MATCHES);
    let sort = query.sort.unwrap_or_default();
    let mut rows = match sort {
        // No SQL literal in this one, so that diesel keeps it prepared (and PostgreSQL can
        // keep its plan): the cursor is the id alone.
        Sort::Created => filtered(from_matches).select((
            Accreditation::as_select(),
            Participant::as_select(),
            Option::<Badge>::as_select(),
            String::new().into_sql::<diesel::sql_types::Text>(),
        )),
        Sort::Name => filtered(from_matches).select((
            Accreditation::as_select(),
            Participant::as_select(),
            Option::<Badge>::as_select(),
            sort_key(),
        )),
    };
    match sort {
        Sort::Created => {
            rows = rows.order(accreditations::id);
            if let Some((_, after)) = page.and_then(|p| p.after.as_ref()) {
                rows = rows.filter(accreditations::id.gt(*after));
            }
        }
        Sort::Name => {
            rows = rows.order((sort_key(), participants::id));
            if let Some((name, after)) = page.and_then(|p| p.after.as_ref()) {
                rows = rows.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "(search_key(participants.last_name || ' ' || participants.first_name), participants.id) > (",
                    )
                    .bind::<diesel::sql_types::Text, _>(name.clone())
                    .sql(", ")
                    .bind::<diesel::sql_types::Uuid, _>(*after)
                    .sql(")"),
                );
            }
        }
    }
    if let Some(page) = page {
        rows = rows.limit(page.limit + 1);
    }
    // Kept prepared although the name order's key is an SQL literal: the statement's text
    // depends only on which filters are set.
    let rows = async {
        let mut conn = conn;
        Ok(KeptPrepared(rows).load(&mut conn).await?)
    };
    let (total, rows) = match known {
        Some(total) => (total, rows.await?),
        None => futures_util::try_join!(total(), rows)?,
    };
    Ok((rows, total))
}

/// Most badges one batch PDF prints (1,250 A4 sheets). The PDF is streamed and holds one page
/// of cards at a time, so this bounds the time a batch takes (BENCHMARKS.md), not its memory.
const BATCH_LIMIT: i64 = 5_000;

/// The ids of the accreditations matching `query`, for batch printing.
pub async fn matching_ids(
    conn: &AsyncPgConnection,
    event: &Event,
    query: &QueueQuery,
) -> ApiResult<Vec<Uuid>> {
    let at_most = PageRequest {
        limit: BATCH_LIMIT,
        after: None,
    };
    let (rows, counted) = find(conn, event, query, Some(&at_most), Total::Exact).await?;
    // The rows (one more than the limit is read) decide; the count only words the refusal. For
    // status and category filters it comes from the folded counters, which may lag the rows.
    let total = counted.max(rows.len() as i64);
    if total > BATCH_LIMIT {
        return Err(ApiError::validation(
            "query",
            format!("{total} accreditations match; narrow the filters to at most {BATCH_LIMIT}"),
        ));
    }
    Ok(rows
        .into_iter()
        .map(|(accreditation, ..)| accreditation.id)
        .collect())
}
