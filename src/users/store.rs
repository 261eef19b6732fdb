//! Queries on accounts. Each takes a connection so that callers can compose them in a transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{EmailAddress, Locale, Role, User};
use crate::db::schema::users;
use crate::db::search_key;
use crate::pagination::{PageRequest, like_pattern};

diesel::define_sql_function! {
    /// `text(citext)`: PostgreSQL's function-style cast, so an email can be searched as text.
    #[sql_name = "text"]
    fn citext_text(email: crate::db::schema::sql_types::Citext) -> diesel::sql_types::Text;
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a EmailAddress,
    pub password_hash: Option<&'a str>,
    pub full_name: &'a str,
    pub locale: &'a str,
    pub roles: Vec<String>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl<'a> NewUser<'a> {
    pub fn new(
        email: &'a EmailAddress,
        full_name: &'a str,
        locale: Locale,
        roles: &[Role],
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            email,
            password_hash: None,
            full_name,
            locale: locale.as_str(),
            roles: Role::to_db(roles),
            email_verified_at: None,
        }
    }
}

/// What may change on an account; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub full_name: Option<String>,
    pub locale: Option<String>,
    pub roles: Option<Vec<String>>,
    pub disabled_at: Option<Option<DateTime<Utc>>>,
    pub password_hash: Option<Option<String>>,
    pub email_verified_at: Option<Option<DateTime<Utc>>>,
    pub locked_until: Option<Option<DateTime<Utc>>>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new_user: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new_user)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
}

/// The users with these ids, in one query (in no particular order).
pub async fn find_all(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(User::as_select())
        .load(conn)
        .await
}

pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    mut changes: UserChanges,
) -> QueryResult<User> {
    changes.updated_at = Some(Utc::now());
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Adds a role, keeping the others.
pub async fn grant_role(conn: &mut AsyncPgConnection, id: Uuid, role: Role) -> QueryResult<User> {
    let user = users::table
        .find(id)
        .select(User::as_select())
        .for_update()
        .first(conn)
        .await?;
    let mut roles = user.roles();
    roles.push(role);
    update(
        conn,
        id,
        UserChanges {
            roles: Some(Role::to_db(&roles)),
            ..Default::default()
        },
    )
    .await
}

/// Adds a role, keeping the others; also sets the password and marks the address verified
/// (an operator vouches for it).
pub async fn grant_role_and_password(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    role: Role,
    password_hash: &str,
) -> QueryResult<User> {
    let user = grant_role(conn, id, role).await?;
    update(
        conn,
        id,
        UserChanges {
            password_hash: Some(Some(password_hash.to_owned())),
            email_verified_at: Some(Some(user.email_verified_at.unwrap_or_else(Utc::now))),
            ..Default::default()
        },
    )
    .await
}

#[derive(Debug, Default)]
pub struct UserFilter {
    /// Matches email or name, case- and accent-insensitively.
    pub q: Option<String>,
    pub role: Option<Role>,
}

fn filtered<'a>(filter: &UserFilter) -> users::BoxedQuery<'a, diesel::pg::Pg> {
    let mut query = users::table.into_boxed();
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = search_key(like_pattern(q));
        query = query.filter(
            search_key(users::full_name)
                .like(pattern.clone())
                .or(search_key(citext_text(users::email)).like(pattern)),
        );
    }
    if let Some(role) = filter.role {
        query = query.filter(users::roles.contains(vec![role.as_str().to_owned()]));
    }
    query
}

/// A page of accounts in creation order, and how many match in all.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &UserFilter,
    page: &PageRequest<Uuid>,
) -> QueryResult<(Vec<User>, i64)> {
    let total = filtered(filter).count().get_result(conn).await?;
    let mut query = filtered(filter)
        .select(User::as_select())
        .order(users::id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(users::id.gt(after));
    }
    Ok((query.load(conn).await?, total))
}
