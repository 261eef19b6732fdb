//! Accounts: who can log in, in which language they read, and which roles they hold.

mod email_address;
mod full_name;
pub mod roles;
pub mod routes;
pub mod store;

pub use email_address::{EmailAddress, InvalidEmail};
pub use full_name::FullName;
pub use roles::{Locale, Role};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::users;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub email: EmailAddress,
    pub password_hash: Option<String>,
    pub full_name: String,
    pub locale: Locale,
    pub roles: Vec<Role>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    pub fn roles(&self) -> Vec<Role> {
        self.roles.clone()
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    pub fn is_locked(&self) -> bool {
        self.locked_until.is_some_and(|until| until > Utc::now())
    }

    pub fn status(&self) -> AccountStatus {
        if self.disabled_at.is_some() {
            AccountStatus::Disabled
        } else if self.is_locked() {
            AccountStatus::Locked
        } else {
            AccountStatus::Active
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Too many failed logins: sign-in refused until `locked_until`.
    Locked,
    /// Disabled by an admin: no sign-in, no token refresh.
    Disabled,
}

/// An account as the API shows it (to its owner at `/me`, to admins at `/users`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    #[schema(example = "ayse.yilmaz@peakdefense.com.tr")]
    pub email: String,
    #[schema(example = "Ayşe Yılmaz")]
    pub full_name: String,
    pub locale: Locale,
    pub roles: Vec<Role>,
    pub email_verified: bool,
    pub status: AccountStatus,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            status: user.status(),
            locale: user.locale(),
            roles: user.roles(),
            email_verified: user.email_verified_at.is_some(),
            locked_until: user.locked_until.filter(|_| user.is_locked()),
            email: user.email.into(),
            full_name: user.full_name,
            created_at: user.created_at,
        }
    }
}
