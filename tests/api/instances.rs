//! Several instances of the service on one database, as behind a load balancer: what one
//! instance changes, the others' caches forget at once (PostgreSQL `LISTEN`/`NOTIFY`), not when
//! their entries expire.

use std::time::Duration;

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, apply, approve, approve_exhibitor, company, event_from_today, open_event, visitor,
};
use crate::helpers::{TestApp, spawn_app};

/// Two more instances beside `app`.
async fn three_instances(app: &TestApp) -> [String; 3] {
    [
        app.address.clone(),
        app.another_instance().await,
        app.another_instance().await,
    ]
}

/// Asks `probe` every 50 ms until it answers true, for at most `within`: well below the cache
/// lifetimes (5 s for directory pages, 10 s for sessions), so only an invalidation passes.
async fn becomes_true(within: Duration, mut probe: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if probe().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The process ids of the backends the instances listen on.
async fn listening_backends(conn: &mut diesel_async::AsyncPgConnection) -> Vec<i32> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Backend {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    diesel::sql_query(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND query = 'LISTEN bamex_caches'",
    )
    .load::<Backend>(conn)
    .await
    .unwrap()
    .into_iter()
    .map(|backend| backend.pid)
    .collect()
}

#[tokio::test]
async fn a_disabled_account_is_refused_at_once_by_every_instance() {
    let app = spawn_app().await;
    let instances = three_instances(&app).await;
    let admin = app.user_with_roles(&[Role::Admin]).await;
    let visitor = app.user_with_roles(&[Role::Visitor]).await;
    let me = async |instance: &str| {
        app.client
            .get(format!("{instance}/api/v1/me"))
            .bearer_auth(&visitor.access_token)
            .send()
            .await
            .unwrap()
            .status()
    };
    // Each instance checks the session once and remembers it.
    for instance in &instances {
        assert_eq!(me(instance).await, 200);
    }
    let disabled = app
        .client
        .patch(format!("{}/api/v1/users/{}", instances[1], visitor.id))
        .bearer_auth(&admin.access_token)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    for instance in &instances {
        assert!(
            becomes_true(Duration::from_secs(2), async || me(instance).await == 401).await,
            "{instance} still lets the disabled account in"
        );
    }
}

#[tokio::test]
async fn an_exhibitor_approved_on_one_instance_is_listed_at_once_by_the_others() {
    let app = spawn_app().await;
    let instances = three_instances(&app).await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let directory = async |instance: &str| -> Value {
        app.client
            .get(format!("{instance}{EVENT}/exhibitors"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    // The listening connections drop (PostgreSQL restarting, say): each instance listens again
    // and, having maybe missed notifications, starts from empty caches.
    let listeners = async || listening_backends(&mut *app.conn().await).await;
    assert!(
        becomes_true(Duration::from_secs(5), async || listeners().await.len()
            == 3)
        .await
    );
    let before = listeners().await;
    {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query = 'LISTEN bamex_caches'",
        )
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    }
    // A terminated backend stays listed while it exits: wait for three new ones.
    assert!(
        becomes_true(Duration::from_secs(10), async || {
            let now = listeners().await;
            now.len() == 3 && now.iter().all(|pid| !before.contains(pid))
        })
        .await,
        "every instance listens again"
    );
    // Each instance caches the empty directory.
    for instance in &instances {
        assert_eq!(directory(instance).await["total"], 0);
    }
    let (_, id) = apply(&app, &company("Aselsan", "TR")).await;
    approve_exhibitor(&app, &organizer, &id).await;
    for instance in &instances {
        assert!(
            becomes_true(Duration::from_secs(2), async || {
                directory(instance).await["total"] == 1
            })
            .await,
            "{instance} still shows the directory without the approved exhibitor"
        );
    }
}

#[tokio::test]
async fn queue_totals_of_people_filters_change_at_once_on_every_instance() {
    let app = spawn_app().await;
    let instances = three_instances(&app).await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, first) = visitor(&app, "trade_visitor", "Yilmaz", "U1000001").await;
    // A filter about people: its total is each instance's own, counted again only after 10 s
    // unless the database says otherwise.
    let total = async |instance: &str| -> Value {
        let response = app
            .client
            .get(format!(
                "{instance}{EVENT}/accreditations?country=TR&status=pending&limit=1"
            ))
            .bearer_auth(&organizer.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["total"].clone()
    };
    for instance in &instances {
        assert_eq!(total(instance).await, 1);
    }
    let (_, second) = visitor(&app, "trade_visitor", "Demir", "U1000002").await;
    for instance in &instances {
        assert!(
            becomes_true(Duration::from_secs(2), async || total(instance).await == 2).await,
            "{instance} still counts one pending accreditation after a second registered"
        );
    }
    approve(&app, &organizer, &first).await;
    approve(&app, &organizer, &second).await;
    for instance in &instances {
        assert!(
            becomes_true(Duration::from_secs(2), async || total(instance).await == 0).await,
            "{instance} still counts pending accreditations after both were approved"
        );
    }
}

#[tokio::test]
async fn no_request_fails_on_a_connection_the_database_dropped_while_it_was_idle() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let app = spawn_app().await;
    let events = async || {
        let requests = (0..12).map(|_| app.client.get(app.url("/api/v1/events")).send());
        futures_util::future::join_all(requests)
            .await
            .into_iter()
            .map(|response| response.unwrap().status().as_u16())
            .collect::<Vec<_>>()
    };
    // Several pooled connections, idle afterwards.
    assert!(events().await.iter().all(|status| *status == 200));
    // The test's own connection, outside the service's pool.
    let observer = &mut AsyncPgConnection::establish(&app.db.url()).await.unwrap();
    let before = listening_backends(observer).await;
    assert_eq!(before.len(), 1);
    // PostgreSQL restarting ends every session, the service's idle ones and its listener.
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(observer)
    .await
    .unwrap();
    // A terminated backend stays listed while it exits: wait for the new one.
    assert!(
        becomes_true(Duration::from_secs(10), async || {
            let now = listening_backends(observer).await;
            now.len() == 1 && now != before
        })
        .await,
        "the instance listens again"
    );
    assert_eq!(
        events().await,
        vec![200; 12],
        "no request got a dead connection"
    );
}
