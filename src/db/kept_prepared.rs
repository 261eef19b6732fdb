//! Statements diesel would otherwise prepare anew at every execution. diesel keeps a prepared
//! statement per connection for queries it builds, but not for `sql_query` nor for queries
//! holding an SQL literal (`dsl::sql`): those it prepares each time, under a new name, which
//! with tokio-postgres is a round trip of its own (parse) before the execution's, and a plan
//! made each time. [`KeptPrepared`] lets diesel keep them like the others, keyed by their SQL
//! text: only for statements whose text is fixed in the code (values always bound, never
//! formatted into the text), or the cache would grow with every value.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// `query`, kept prepared on each connection that runs it.
#[derive(Debug, Clone, Copy)]
pub struct KeptPrepared<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for KeptPrepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: diesel then keys the statement by its SQL text and bind types.
impl<Q> QueryId for KeptPrepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for KeptPrepared<Q> {
    type SqlType = Q::SqlType;
}
