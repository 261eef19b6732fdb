//! The CSV exports of exhibitors, delegations with their members, and scans (the accreditations'
//! is in `accreditations.rs`): header and rows, the BOM, formula cells neutralised, filters,
//! paging through more rows than one page, and who may export.

use std::collections::HashSet;

use bamex::users::Role;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::{
    EVENT, active_delegation, apply, approve, approve_exhibitor, booth, company, create,
    delegation, event_from_today, open_event, person, visitor,
};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

/// The export at `path` as `who`: checks the answer is a UTF-8 CSV attachment with a BOM named
/// `bamex-2026-{name}.csv`; returns the header and the rows.
async fn export(
    app: &TestApp,
    who: &TestUser,
    path: &str,
    name: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let response = app
        .get_as(&format!("{EVENT}/{path}"), &who.access_token)
        .await;
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8",
        "{path}"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"bamex-2026-{name}.csv\"").as_str()
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// The value of `column` in `row`.
fn at<'a>(header: &[String], row: &'a [String], column: &str) -> &'a str {
    let i = header.iter().position(|h| h == column).unwrap_or_else(|| {
        panic!("no column {column} in {header:?}");
    });
    &row[i]
}

/// The export at `path` refuses its query with 422.
async fn invalid(app: &TestApp, organizer: &TestUser, path: &str) {
    assert_problem(
        app.get_as(&format!("{EVENT}/{path}"), &organizer.access_token)
            .await,
        422,
        "validation_failed",
    )
    .await;
}

async fn refused(app: &TestApp, path: &str) {
    for role in [Role::Exhibitor, Role::GateAgent, Role::DelegationLead] {
        let user = app.user_with_roles(&[role]).await;
        assert_problem(
            app.get_as(&format!("{EVENT}/{path}"), &user.access_token)
                .await,
            403,
            "forbidden",
        )
        .await;
    }
}

#[tokio::test]
async fn exhibitors_export_as_csv_with_the_directory_filters() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, approved) = apply(&app, &company("=Sahel Armor", "TR")).await;
    approve_exhibitor(&app, &organizer, &approved).await;
    assert_eq!(
        booth(&app, &organizer, &approved, "A-12", 18.0)
            .await
            .status(),
        200
    );
    let (_, pending) = apply(&app, &company("Bamako Défense", "ML")).await;

    let (header, rows) = export(&app, &organizer, "exhibitors.csv", "exhibitors").await;
    assert_eq!(
        header.join(","),
        "id,status,legal_name,display_name,country,city,website,sectors,pavilion,booth_hall,booth_stand,booth_area_m2,staff_quota,staff_count,contact_name,contact_email,contact_phone,created_at,contractor_quota,contractor_count"
    );
    assert_eq!(rows.len(), 2);
    let sahel = rows
        .iter()
        .find(|r| at(&header, r, "id") == approved)
        .expect("the approved exhibitor");
    assert_eq!(at(&header, sahel, "status"), "approved");
    assert_eq!(
        at(&header, sahel, "legal_name"),
        "'=Sahel Armor",
        "formulas are neutralised"
    );
    assert_eq!(at(&header, sahel, "country"), "TR");
    assert_eq!(at(&header, sahel, "sectors"), "communications;land_systems");
    assert_eq!(at(&header, sahel, "booth_stand"), "A-12");
    assert_eq!(at(&header, sahel, "booth_area_m2"), "18");
    assert_eq!(at(&header, sahel, "staff_quota"), "3");
    assert_eq!(at(&header, sahel, "contact_email"), "sales@example.com.tr");

    let (_, pending_only) = export(
        &app,
        &organizer,
        "exhibitors.csv?status=pending",
        "exhibitors",
    )
    .await;
    assert_eq!(pending_only.len(), 1);
    assert_eq!(pending_only[0][0], pending);
    assert_eq!(pending_only[0][3], "Bamako Défense");
    let (_, by_search) = export(
        &app,
        &organizer,
        "exhibitors.csv?q=defense&country=ml",
        "exhibitors",
    )
    .await;
    assert_eq!(by_search.len(), 1);
    assert_eq!(by_search[0][0], pending);

    invalid(&app, &organizer, "exhibitors.csv?country=XX").await;
    invalid(&app, &organizer, "exhibitors.csv?sector=lasers").await;
    refused(&app, "exhibitors.csv").await;
}

#[tokio::test]
async fn delegations_export_one_row_per_member_without_documents() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (full, lead) = active_delegation(&app, &organizer, "liaison@msb.gov.tr", 5).await;
    for (name, document) in [("=HYPERLINK(\"x\")", "M7000001"), ("Yılmaz", "M7000002")] {
        let response = app
            .post_as(
                &format!("{EVENT}/delegations/{full}/members"),
                &lead,
                &person(name, document),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
    let mut empty = delegation("protocol@defense.gouv.sn", 3);
    empty["country"] = json!("SN");
    empty["name"] = json!("Forces armées sénégalaises");
    empty["kind"] = json!("armed_forces");
    let empty = create(&app, &organizer, &empty).await;

    let response = app
        .get_as(&format!("{EVENT}/delegations.csv"), &organizer.access_token)
        .await;
    let text = String::from_utf8(response.bytes().await.unwrap().to_vec()).unwrap();
    for document in ["M7000001", "M7000002", "passport"] {
        assert!(!text.contains(document), "{document} in the export");
    }

    let (header, rows) = export(&app, &organizer, "delegations.csv", "delegations").await;
    assert_eq!(
        header.join(","),
        "delegation_id,delegation_name,country,kind,protocol_level,delegation_status,lead_name,lead_email,member_limit,participant_id,last_name,first_name,organization,function,nationality,accreditation_status,badge_number"
    );
    assert_eq!(rows.len(), 3, "two members, and one row for the empty one");
    let members: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| at(&header, r, "delegation_id") == full)
        .collect();
    assert_eq!(members.len(), 2);
    for member in &members {
        assert_eq!(
            at(&header, member, "delegation_name"),
            "Ministry of National Defence of Türkiye"
        );
        assert_eq!(at(&header, member, "kind"), "government");
        assert_eq!(at(&header, member, "protocol_level"), "vip");
        assert_eq!(at(&header, member, "delegation_status"), "active");
        assert_eq!(at(&header, member, "lead_email"), "liaison@msb.gov.tr");
        assert_eq!(at(&header, member, "member_limit"), "5");
        assert_eq!(at(&header, member, "organization"), "Anadolu");
        assert_eq!(at(&header, member, "function"), "Engineer");
        assert_eq!(at(&header, member, "accreditation_status"), "pending");
        assert!(Uuid::parse_str(at(&header, member, "participant_id")).is_ok());
    }
    let last_names: HashSet<&str> = members
        .iter()
        .map(|m| at(&header, m, "last_name"))
        .collect();
    assert_eq!(
        last_names,
        HashSet::from(["'=HYPERLINK(\"x\")", "Yılmaz"]),
        "formulas are neutralised"
    );
    let lonely = rows
        .iter()
        .find(|r| at(&header, r, "delegation_id") == empty)
        .expect("the delegation without members");
    assert_eq!(at(&header, lonely, "delegation_status"), "invited");
    assert!(lonely[9..].iter().all(String::is_empty), "{lonely:?}");

    let (_, armed_forces) = export(
        &app,
        &organizer,
        "delegations.csv?kind=armed_forces",
        "delegations",
    )
    .await;
    assert_eq!(armed_forces.len(), 1);
    assert_eq!(armed_forces[0][0], empty);
    let (_, turkish) = export(
        &app,
        &organizer,
        "delegations.csv?country=tr",
        "delegations",
    )
    .await;
    assert_eq!(turkish.len(), 2);

    invalid(&app, &organizer, "delegations.csv?country=XX").await;
    refused(&app, "delegations.csv").await;
}

/// Pages of one row, then of two, walk the same rows as one large page: the keyset on
/// (delegation, member) skips nothing and repeats nothing across delegations with several
/// members, one member or none.
#[tokio::test]
async fn delegation_member_pages_follow_each_other_by_key() {
    use bamex::delegations::store::{DelegationFilter, members_export_page};
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (first, lead) = active_delegation(&app, &organizer, "liaison@msb.gov.tr", 5).await;
    for n in 0..3 {
        let response = app
            .post_as(
                &format!("{EVENT}/delegations/{first}/members"),
                &lead,
                &person(&format!("Member{n}"), &format!("M700000{n}")),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    for lead in ["a@defense.gouv.sn", "b@defense.gouv.sn"] {
        create(&app, &organizer, &delegation(lead, 2)).await;
    }
    let event_id: Uuid = {
        use bamex::db::schema::events::dsl;
        dsl::events
            .filter(dsl::slug.eq("bamex-2026"))
            .select(dsl::id)
            .first(&mut app.conn().await)
            .await
            .unwrap()
    };
    let mut conn = app.conn().await;
    let filter = DelegationFilter::default();
    let key = |(d, m, _): &bamex::delegations::store::DelegationMemberRow| {
        (d.id, m.as_ref().map(|m| m.participant_id))
    };
    let whole: Vec<_> = members_export_page(&mut conn, event_id, &filter, None, 1000)
        .await
        .unwrap()
        .iter()
        .map(key)
        .collect();
    assert_eq!(whole.len(), 5, "three members, two empty delegations");
    for limit in [1, 2] {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = members_export_page(&mut conn, event_id, &filter, after.as_ref(), limit)
                .await
                .unwrap();
            walked.extend(page.iter().map(key));
            match page.last() {
                Some(last) if page.len() as i64 == limit => after = Some(key(last)),
                _ => break,
            }
        }
        assert_eq!(walked, whole, "pages of {limit}");
    }
}

#[tokio::test]
async fn scans_export_as_csv_in_time_order_with_filters() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let (_, id) = visitor(&app, "trade_visitor", "Konaté", "G1000001").await;
    let badge = approve(&app, &organizer, &id).await["badge"].clone();
    let qr = badge["qr"].as_str().unwrap();
    let scan = async |qr: &str, gate: &str| {
        let response = app
            .post_as(
                &format!("{EVENT}/scans"),
                &agent.access_token,
                &json!({"qr": qr, "gate": gate, "zone": "exhibition_halls", "direction": "in"}),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.unwrap()
    };
    let allowed = scan(qr, "@north-1").await;
    assert_eq!(allowed["verdict"], "allowed");
    let denied = scan("not.a.badge", "north-2").await;
    assert_eq!(denied["verdict"], "denied");

    let (header, rows) = export(&app, &organizer, "scans.csv", "scans").await;
    assert_eq!(
        header.join(","),
        "scan_id,scanned_at,gate,zone,direction,verdict,reason,badge_number,holder,device,agent,received_at,offline_verdict,flagged"
    );
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    assert_eq!(first[0], allowed["scan_id"].as_str().unwrap());
    assert!(chrono::DateTime::parse_from_rfc3339(&first[1]).is_ok());
    assert_eq!(first[2], "'@north-1", "formulas are neutralised");
    assert_eq!(&first[3..7], ["exhibition_halls", "in", "allowed", ""]);
    assert_eq!(first[7], badge["number"].as_str().unwrap());
    assert_eq!(first[8], "Ayşe Konaté");
    assert_eq!(first[9], "", "scanned without a device");
    assert_eq!(first[10], agent.email);
    assert_eq!(
        first[11], first[1],
        "an online scan is received when it is made"
    );
    assert_eq!(&first[12..], ["", "false"]);
    assert_eq!(
        &rows[1][5..11],
        ["denied", "invalid_signature", "", "", "", &agent.email]
    );

    let (_, denials) = export(&app, &organizer, "scans.csv?verdict=denied", "scans").await;
    assert_eq!(denials.len(), 1);
    assert_eq!(denials[0][0], denied["scan_id"].as_str().unwrap());
    let (_, at_north_1) = export(
        &app,
        &organizer,
        "scans.csv?gate=%40north-1&zone=exhibition_halls&direction=in",
        "scans",
    )
    .await;
    assert_eq!(at_north_1.len(), 1);
    let (_, none_out) = export(&app, &organizer, "scans.csv?direction=out", "scans").await;
    assert!(none_out.is_empty());

    // More scans than a page holds, most at the same instant: every one comes once, in order.
    diesel::sql_query(
        "INSERT INTO scans (id, event_id, gate, zone, direction, verdict, reason, scanned_at)
         SELECT gen_random_uuid(), e.id, 'south-2', 'static_display', 'out', 'denied',
                'unknown_badge', timestamptz '2026-01-01T10:00:00Z' + (g % 2) * interval '1 hour'
         FROM events e, generate_series(1, 1100) g WHERE e.slug = 'bamex-2026'",
    )
    .execute(&mut app.conn().await)
    .await
    .unwrap();
    let (_, many) = export(&app, &organizer, "scans.csv?gate=south-2", "scans").await;
    assert_eq!(many.len(), 1100);
    let ids: HashSet<&str> = many.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), 1100, "no scan twice");
    let keys: Vec<_> = many
        .iter()
        .map(|r| {
            let at = chrono::DateTime::parse_from_rfc3339(&r[1]).unwrap();
            (at, Uuid::parse_str(&r[0]).unwrap())
        })
        .collect();
    assert!(keys.is_sorted(), "time order, ties by id");
    let (_, first_hour) = export(
        &app,
        &organizer,
        "scans.csv?from=2026-01-01T10:00:00Z&to=2026-01-01T11:00:00Z",
        "scans",
    )
    .await;
    assert_eq!(first_hour.len(), 550, "`from` inclusive, `to` exclusive");
    let (_, later) = export(
        &app,
        &organizer,
        "scans.csv?from=2026-01-01T10:30:00%2B00:00",
        "scans",
    )
    .await;
    assert_eq!(later.len(), 552, "the second hour and today's two");

    for bad in ["from=yesterday", "verdict=maybe", "zone=moon"] {
        invalid(&app, &organizer, &format!("scans.csv?{bad}")).await;
    }
    invalid(
        &app,
        &organizer,
        "scans.csv?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
    )
    .await;
    refused(&app, "scans.csv").await;
}
