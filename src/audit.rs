//! The audit trail: who did what to which record, when, from where. Written in the same
//! transaction as the change it describes. The database fills in the event a record is about
//! and refuses to change or delete records (see the `mfa_audit` migration); `routes` reads them.

pub mod actions;
pub mod routes;
pub mod store;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::audit_records;

/// Who acts, and from where: what a use case records in the audit trail about its caller.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Uuid,
    pub ip: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_records)]
pub struct AuditEntry<'a> {
    id: Uuid,
    /// None when the actor is the system or an operator at the command line.
    actor_id: Option<Uuid>,
    action: &'a str,
    target_type: &'a str,
    target_id: Option<Uuid>,
    details: serde_json::Value,
    client_ip: Option<&'a str>,
}

impl<'a> AuditEntry<'a> {
    pub fn new(action: &'a str, target_type: &'a str, target_id: Option<Uuid>) -> Self {
        Self {
            id: Uuid::now_v7(),
            actor_id: None,
            action,
            target_type,
            target_id,
            details: serde_json::Value::Object(Default::default()),
            client_ip: None,
        }
    }

    pub fn by(mut self, actor_id: Uuid, client_ip: Option<&'a str>) -> Self {
        self.actor_id = Some(actor_id);
        self.client_ip = client_ip;
        self
    }

    /// An anonymous caller's address (a gate device enrolling, which has no account).
    pub fn from_ip(mut self, client_ip: Option<&'a str>) -> Self {
        self.client_ip = client_ip;
        self
    }

    pub fn by_actor(self, actor: &'a Actor) -> Self {
        self.by(actor.id, actor.ip.as_deref())
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    pub async fn record(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        Self::record_all(conn, std::slice::from_ref(self)).await
    }

    /// Records `entries` in one statement (a bulk decision writes hundreds).
    pub async fn record_all(conn: &mut AsyncPgConnection, entries: &[Self]) -> QueryResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        diesel::insert_into(audit_records::table)
            .values(entries)
            .execute(conn)
            .await
            .map(drop)
    }
}
