//! `bamex seed-demo`: realistic data for front-end developers — BAMEX'26 with *The Peak Defense*
//! pavilion of Turkish manufacturers, exhibitors from the invited countries, booths and staff.
//! Company and person names are invented. Idempotent: a second run changes nothing.

use anyhow::Context;
use base64::Engine;
use chrono::{NaiveDate, SubsecRound, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::accreditations::badges::{BadgeEnd, BadgeKeys};
use crate::accreditations::workflow::{self, Decision, Ruling};
use crate::accreditations::{Category, VettingState};
use crate::audit::Actor;
use crate::auth::{device_tokens, mfa_store, password, totp};
use crate::config::Settings;
use crate::country::CountryCode;
use crate::db::schema::{badges, exhibitors, pavilions};
use crate::delegations::store::{self as delegations, DelegationChanges, NewDelegation};
use crate::events::Event;
use crate::events::badge_rules::BadgeRules;
use crate::events::store::{self as events, NewEvent};
use crate::events::zones::Zone;
use crate::exhibitors::BadgeList;
use crate::exhibitors::quota::{default_contractor_quota, default_staff_quota};
use crate::exhibitors::store::{self as exhibitor_store, ExhibitorChanges, NewExhibitor};
use crate::gates::devices::store::{self as store_devices, NewDevice};
use crate::gates::offline::store as offline;
use crate::gates::offline::upload::{BadgeSource, Badges, UploadedScan};
use crate::gates::sync::feed;
use crate::gates::{Direction, Verdict};
use crate::letters::code::VerificationCode;
use crate::participants::documents::{DocumentNumber, DocumentVault};
use crate::participants::identity::IdentityDetails;
use crate::participants::scans::DocumentKind;
use crate::participants::scans::store::{self as scans, NewScan};
use crate::participants::store::{self as participants, Group, Registration};
use crate::participants::{DocumentType, ParticipantData};
use crate::reissues::{lost, reissue};
use crate::users::store::{self as users, NewUser};
use crate::users::{EmailAddress, Locale, Role};
use crate::vetting::decision::{self, VettingRuling};

const PEAK_DEFENSE: &[(&str, &str, &[&str])] = &[
    ("Anadolu Zırhlı Araçlar A.Ş.", "Ankara", &["land_systems"]),
    ("Boğaziçi Deniz Sistemleri", "İstanbul", &["naval_systems"]),
    ("Çukurova Mühimmat Sanayi", "Adana", &["weapons_munitions"]),
    (
        "Doğu Optronik Teknolojileri",
        "Ankara",
        &["land_systems", "communications"],
    ),
    ("Ege Savunma Elektroniği", "İzmir", &["communications"]),
    ("Fırat İnsansız Hava Sistemleri", "Elazığ", &["air_systems"]),
    ("Gökbörü Uzay ve Uydu", "Ankara", &["space_satellites"]),
    ("Halıcıoğlu Siber Güvenlik", "İstanbul", &["cyber_security"]),
    ("Işık Lazer Sistemleri", "Kocaeli", &["weapons_munitions"]),
    ("Kapadokya Ağır Silah Sanayi", "Kayseri", &["heavy_weapons"]),
    ("Karadeniz Tersanecilik", "Trabzon", &["naval_systems"]),
    (
        "Konya Hassas Döküm",
        "Konya",
        &["weapons_munitions", "land_systems"],
    ),
    (
        "Malatya Taktik Giyim",
        "Malatya",
        &["civil_protection_policing"],
    ),
    (
        "Marmara Radar Teknolojileri",
        "Bursa",
        &["communications", "air_systems"],
    ),
    (
        "Mersin Liman Güvenliği",
        "Mersin",
        &["civil_protection_policing", "naval_systems"],
    ),
    (
        "Nemrut Balistik Koruma",
        "Adıyaman",
        &["civil_protection_policing"],
    ),
    ("Orhun Haberleşme Sistemleri", "Ankara", &["communications"]),
    (
        "Pamukkale Simülasyon ve Eğitim",
        "Denizli",
        &["training_services"],
    ),
    ("Sakarya Tank Paletleri", "Sakarya", &["land_systems"]),
    ("Selçuklu Havacılık", "Konya", &["air_systems"]),
    (
        "Şahin Roket Sistemleri",
        "Ankara",
        &["heavy_weapons", "weapons_munitions"],
    ),
    ("Toros Kamuflaj Çözümleri", "Antalya", &["land_systems"]),
    (
        "Trakya Kimyasal Savunma",
        "Edirne",
        &["civil_protection_policing"],
    ),
    ("Ulubatlı Akıllı Mühimmat", "Bursa", &["weapons_munitions"]),
    ("Uludağ Gece Görüş", "Bursa", &["land_systems"]),
    ("Van Gölü Sonar Sistemleri", "Van", &["naval_systems"]),
    (
        "Yıldırım Elektronik Harp",
        "Ankara",
        &["communications", "cyber_security"],
    ),
    ("Zafer Lojistik Destek", "Eskişehir", &["training_services"]),
    (
        "Ağrı Dağı Kış Ekipmanları",
        "Erzurum",
        &["civil_protection_policing"],
    ),
    (
        "İnönü Test ve Sertifikasyon",
        "Eskişehir",
        &["training_services"],
    ),
];

const OTHERS: &[(&str, &str, &str, &[&str], bool)] = &[
    (
        "Sahel Protection Civile SARL",
        "ML",
        "Bamako",
        &["civil_protection_policing"],
        true,
    ),
    (
        "Djoliba Systèmes de Communication",
        "ML",
        "Bamako",
        &["communications"],
        true,
    ),
    (
        "Faso Sécurité Industrielle",
        "BF",
        "Ouagadougou",
        &["civil_protection_policing"],
        true,
    ),
    (
        "Niger Défense Logistique",
        "NE",
        "Niamey",
        &["training_services"],
        true,
    ),
    (
        "Teranga Cyberdéfense",
        "SN",
        "Dakar",
        &["cyber_security"],
        true,
    ),
    (
        "Atlas Aéronautique",
        "MA",
        "Casablanca",
        &["air_systems"],
        true,
    ),
    (
        "Gold Coast Tactical Ltd",
        "GH",
        "Accra",
        &["land_systems"],
        true,
    ),
    (
        "Lagos Maritime Security Ltd",
        "NG",
        "Lagos",
        &["naval_systems"],
        true,
    ),
    (
        "Togo Surveillance Frontalière",
        "TG",
        "Lomé",
        &["communications"],
        false,
    ),
    (
        "Great Wall Optics Co.",
        "CN",
        "Xi'an",
        &["land_systems", "space_satellites"],
        true,
    ),
    (
        "Volga Heavy Engineering",
        "RU",
        "Nizhny Novgorod",
        &["heavy_weapons"],
        true,
    ),
    (
        "Congo Bassin Sécurité",
        "CG",
        "Brazzaville",
        &["civil_protection_policing"],
        false,
    ),
];

/// Country, name, kind, protocol level.
const DELEGATIONS: &[(&str, &str, &str, &str)] = &[
    ("ML", "Forces Armées Maliennes", "armed_forces", "vvip"),
    (
        "BF",
        "Ministère de la Défense du Burkina Faso",
        "government",
        "vip",
    ),
    ("NE", "Police Nationale du Niger", "police", "vip"),
    (
        "TR",
        "Türkiye Cumhuriyeti Milli Savunma Bakanlığı",
        "government",
        "vvip",
    ),
    ("TG", "Forces Armées Togolaises", "armed_forces", "standard"),
    ("GH", "Ghana Armed Forces", "armed_forces", "standard"),
    ("NG", "Nigerian Army", "armed_forces", "vip"),
    ("MA", "Forces Armées Royales", "armed_forces", "vip"),
    (
        "CN",
        "China Defence Industry Delegation",
        "industry",
        "standard",
    ),
    (
        "SN",
        "Corps diplomatique accrédité au Mali",
        "diplomatic_corps",
        "vip",
    ),
];

const MEMBERS: &[(&str, &str, &str)] = &[
    ("Amadou", "Konaté", "Chef de délégation"),
    ("Mariam", "Sidibé", "Officier de liaison"),
    ("Ibrahim", "Touré", "Aide de camp"),
];

/// Name, category.
const VISITORS: &[(&str, &str, Category)] = &[
    ("Oumar", "Dembélé", Category::TradeVisitor),
    ("Aminata", "Cissé", Category::PublicVisitor),
    ("Kadiatou", "Sow", Category::Media),
];

/// The stand builders of the first approved exhibitor.
const CONTRACTORS: &[(&str, &str, &str)] = &[
    ("Seydou", "Sangaré", "Monteur de stand"),
    ("Ibrahim", "Touré", "Électricien"),
];

/// People the accreditation office enters by hand: names, function, organization, category and
/// protocol note.
const OFFICE: &[(&str, &str, &str, &str, Category, &str)] = &[
    (
        "Sadio",
        "Camara",
        "Ministre",
        "Ministère de la Défense",
        Category::Vip,
        "Accueil protocole, salon VIP",
    ),
    (
        "Mariam",
        "Konaté",
        "Hôtesse",
        "Comité d'organisation BAMEX",
        Category::OrganizerStaff,
        "Accueil hall A",
    ),
];

const STAFF: &[(&str, &str, &str)] = &[
    ("Mehmet", "Yılmaz", "Satış Müdürü"),
    ("Zeynep", "Şahin", "Mühendis"),
];

/// A demo participant; `serial` makes the document number unique.
fn person(
    first: &str,
    last: &str,
    function: &str,
    organization: &str,
    country: &str,
    serial: usize,
) -> anyhow::Result<ParticipantData> {
    Ok(ParticipantData {
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        email: None,
        title: None,
        organization: organization.to_owned(),
        function: Some(function.to_owned()),
        nationality: CountryCode::parse(country)?,
        date_of_birth: NaiveDate::from_ymd_opt(1970 + (serial % 30) as i32, 3, 14)
            .context("a birth date")?,
        id_document_type: DocumentType::Passport,
        id_document_number: DocumentNumber::parse(&format!("U{serial:07}"))
            .map_err(anyhow::Error::msg)?,
        // The demo event vets most categories: its people have what the services check.
        identity: IdentityDetails {
            place_of_birth: Some(
                match country {
                    "TR" => "Ankara",
                    "FR" => "Lyon",
                    "SN" => "Dakar",
                    _ => "Ségou",
                }
                .to_owned(),
            ),
            id_document_expires_on: NaiveDate::from_ymd_opt(2031, 6, 30),
        },
    })
}

/// A one-page PDF standing for a delegation's note verbale.
fn note_verbale(delegation: &str) -> Vec<u8> {
    let text =
        format!("Note verbale - {delegation} - BAMEX'26 (demo)").replace(['(', ')', '\\'], " ");
    let content = format!("BT /F1 14 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        table.push_str(&format!("{offset:010} 00000 n \n"));
    }
    table.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.extend_from_slice(table.as_bytes());
    pdf
}

fn random_password() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A demo account, created with a fresh password (returned once) unless it exists.
async fn account(
    conn: &mut AsyncPgConnection,
    email: &str,
    name: &str,
    locale: Locale,
    roles: &[Role],
) -> anyhow::Result<(Uuid, Option<String>)> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{email}: {e}"))?;
    if let Some(user) = users::find_by_email(conn, &email).await? {
        return Ok((user.id, None));
    }
    let secret = random_password();
    let hash = password::hash(SecretString::from(secret.clone())).await?;
    let mut new_user = NewUser::new(&email, name, locale, roles);
    new_user.password_hash = Some(&hash);
    new_user.email_verified_at = Some(Utc::now());
    Ok((users::insert(conn, &new_user).await?.id, Some(secret)))
}

/// A staff account's second factor, confirmed at once (no recovery codes: an admin resets a
/// lost demo factor); returns the `otpauth://` URI to add to an authenticator app.
async fn demo_factor(
    conn: &mut AsyncPgConnection,
    vault: &DocumentVault,
    user_id: Uuid,
    email: &str,
) -> anyhow::Result<String> {
    let secret = totp::new_secret();
    let sealed = vault.seal_secret(&mfa_store::secret_context(user_id), &secret)?;
    mfa_store::start_enrollment(conn, user_id, &sealed).await?;
    mfa_store::confirm(conn, user_id, &[]).await?;
    Ok(totp::enrollment(&secret, email)?.otpauth_uri)
}

/// The default rules, with Bamako for the exhibition and Koulikoro for the live demonstrations.
fn demo_badge_rules(first_demo: NaiveDate, last_demo: NaiveDate) -> BadgeRules {
    let mut rules = BadgeRules::defaults(&BadgeRules::DEFAULT_RANGE);
    rules
        .zone_days
        .insert(Zone::DemonstrationRange, vec![first_demo, last_demo]);
    rules
}

async fn event(conn: &mut AsyncPgConnection) -> anyhow::Result<Event> {
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("a November day");
    events::insert_if_absent(
        conn,
        &NewEvent {
            id: Uuid::now_v7(),
            slug: "bamex-2026",
            name: "BAMEX'26 — Salon International de la Défense et de la Sécurité de Bamako",
            venue: "Parc des Expositions de Bamako; démonstrations au champ de tir de Koulikoro",
            starts_on: day(24),
            ends_on: day(27),
            public_days: vec![day(26), day(27)],
            status: "open",
            auto_approve_public: true,
            registration_opens_at: Some(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()),
            registration_closes_at: None,
            sensitive_categories: None,
            vetting_categories: None,
            // Two days to build the stands, one to take them down.
            build_up_days: vec![day(22), day(23)],
            tear_down_days: vec![day(28)],
            badge_rules: serde_json::to_value(demo_badge_rules(day(26), day(27)))?,
        },
    )
    .await?;
    Ok(events::find_by_slug(conn, "bamex-2026").await?)
}

pub async fn seed(settings: &Settings, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    let vault = DocumentVault::new(&settings.documents);
    let credentials = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let event = event(conn).await?;
            let mut credentials = Vec::new();
            let mut officer = None;
            let mut organizer = None;
            for (email, name, role) in [
                ("admin@demo.bamex.ml", "Awa Traoré", Role::Admin),
                ("organizer@demo.bamex.ml", "Moussa Keïta", Role::Organizer),
                ("gate@demo.bamex.ml", "Fatoumata Diallo", Role::GateAgent),
                ("vetting@demo.bamex.ml", "Boubacar Coulibaly", Role::VettingOfficer),
            ] {
                let (id, password) = account(conn, email, name, Locale::Fr, &[role]).await?;
                match role {
                    Role::VettingOfficer => officer = Some(id),
                    Role::Organizer => organizer = Some(id),
                    _ => {}
                }
                if let Some(password) = password {
                    let uri = if settings.auth.mfa_required_roles.contains(&role) {
                        Some(demo_factor(conn, &vault, id, email).await?)
                    } else {
                        None
                    };
                    credentials.push((email.to_owned(), format!("{password}{}", uri.map(|u| format!("  totp {u}")).unwrap_or_default())));
                }
            }
            let seeded: bool = diesel::select(diesel::dsl::exists(
                pavilions::table
                    .filter(pavilions::event_id.eq(event.id))
                    .filter(pavilions::name.eq("The Peak Defense")),
            ))
            .get_result(conn)
            .await?;
            if seeded {
                return Ok(credentials);
            }
            let (coordinator, password) = account(
                conn,
                "koordinator@thepeakdefense.example",
                "Ahmet Korkmaz",
                Locale::Tr,
                &[Role::Exhibitor],
            )
            .await?;
            if let Some(password) = password {
                credentials.push(("koordinator@thepeakdefense.example".to_owned(), password));
            }
            let pavilion = Uuid::now_v7();
            diesel::insert_into(pavilions::table)
                .values((
                    pavilions::id.eq(pavilion),
                    pavilions::event_id.eq(event.id),
                    pavilions::name.eq("The Peak Defense"),
                    pavilions::country.eq("TR"),
                    pavilions::description.eq("Türk savunma sanayii milli pavyonu — Turkish defence industry national pavilion"),
                    pavilions::coordinator_id.eq(coordinator),
                ))
                .execute(conn)
                .await?;

            let companies = PEAK_DEFENSE
                .iter()
                .map(|(name, city, sectors)| (*name, "TR", *city, *sectors, true, Some(pavilion)))
                .chain(OTHERS.iter().map(|(name, country, city, sectors, approved)| {
                    (*name, *country, *city, *sectors, *approved, None)
                }));
            let mut contractors_seeded = false;
            for (index, (name, country, city, sectors, approved, pavilion_id)) in companies.enumerate() {
                let slug: String = name
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(16)
                    .collect::<String>()
                    .to_lowercase();
                let locale = if country == "TR" { Locale::Tr } else { Locale::Fr };
                let contact = format!("contact@{slug}.example");
                let (owner, password) =
                    account(conn, &contact, &format!("Contact {name}"), locale, &[Role::Exhibitor]).await?;
                // One exhibitor account to sign in with is enough for a front-end developer.
                if let (0, Some(password)) = (index, password) {
                    credentials.push((contact.clone(), password));
                }
                let exhibitor = exhibitor_store::insert(
                    conn,
                    &NewExhibitor {
                        id: Uuid::now_v7(),
                        event_id: event.id,
                        owner_id: owner,
                        legal_name: name.to_owned(),
                        display_name: name.to_owned(),
                        country: CountryCode::parse(country)?.as_str().to_owned(),
                        city: city.to_owned(),
                        website: Some(format!("https://{slug}.example")),
                        description: format!("{name} — {}", sectors.join(", ")),
                        sectors: sectors.iter().map(|s| (*s).to_owned()).collect(),
                        pavilion_id,
                        contact_name: Some(format!("Contact {name}")),
                        contact_email: Some(EmailAddress::parse(&contact)?),
                        contact_phone: None,
                    },
                )
                .await?;
                if !approved {
                    continue;
                }
                let area = [9.0, 18.0, 27.0, 36.0, 54.0][index % 5];
                let (hall, row) = if pavilion_id.is_some() { ("Hall Türkiye", "T") } else { ("Hall Afrique", "A") };
                exhibitor_store::update(
                    conn,
                    exhibitor.id,
                    ExhibitorChanges {
                        status: Some("approved".into()),
                        decided_at: Some(Some(Utc::now())),
                        booth_hall: Some(Some(hall.into())),
                        booth_stand: Some(Some(format!("{row}-{:02}", index + 1))),
                        booth_area_m2: Some(Some(area)),
                        staff_quota: Some(default_staff_quota(area)),
                        contractor_quota: Some(default_contractor_quota(area)),
                        ..Default::default()
                    },
                )
                .await?;
                for (n, (first, last, function)) in STAFF.iter().enumerate() {
                    anyhow::ensure!(
                        exhibitor_store::take_slot(conn, exhibitor.id, BadgeList::Staff).await?,
                        "the demo staff of {name} exceed its quota"
                    );
                    let id = Uuid::now_v7();
                    let data = person(first, last, function, name, country, index * 10 + n)?;
                    let sealed = vault.seal(id, &data.id_document_number)?;
                    let registration = Registration {
                        event_id: event.id,
                        registered_by: owner,
                        group: Group::Exhibitor(exhibitor.id),
                        category: Category::ExhibitorStaff,
                        protocol_level: None,
                        press: None,
                        approved: false,
                        protocol_note: None,
                    };
                    participants::insert(conn, id, &registration, &data, &sealed).await?;
                }
                if contractors_seeded {
                    continue;
                }
                contractors_seeded = true;
                for (n, (first, last, function)) in CONTRACTORS.iter().enumerate() {
                    anyhow::ensure!(
                        exhibitor_store::take_slot(conn, exhibitor.id, BadgeList::Contractors).await?,
                        "the demo contractors of {name} exceed its quota"
                    );
                    let id = Uuid::now_v7();
                    let data = person(first, last, function, "Bamako Stands SARL", "ML", 960 + n)?;
                    let sealed = vault.seal(id, &data.id_document_number)?;
                    let registration = Registration {
                        event_id: event.id,
                        registered_by: owner,
                        group: Group::Contractors(exhibitor.id),
                        category: Category::Contractor,
                        protocol_level: None,
                        press: None,
                        approved: false,
                        protocol_note: None,
                    };
                    participants::insert(conn, id, &registration, &data, &sealed).await?;
                }
            }
            let mut members = Vec::new();
            for (index, (country, name, kind, level)) in DELEGATIONS.iter().enumerate() {
                let lead_email = format!("delegation{index}@demo.bamex.ml");
                let (lead, _) = account(conn, &lead_email, &format!("Chef {name}"), Locale::Fr, &[Role::DelegationLead]).await?;
                let delegation = delegations::insert(
                    conn,
                    &NewDelegation {
                        id: Uuid::now_v7(),
                        event_id: event.id,
                        country: CountryCode::parse(country)?.as_str().to_owned(),
                        name: (*name).to_owned(),
                        kind,
                        protocol_level: level,
                        arrival_on: NaiveDate::from_ymd_opt(2026, 11, 23),
                        departure_on: NaiveDate::from_ymd_opt(2026, 11, 27),
                        member_limit: 6,
                        lead_email: EmailAddress::parse(&lead_email)?,
                        lead_name: format!("Chef {name}"),
                    },
                )
                .await?;
                delegations::update(
                    conn,
                    delegation.id,
                    DelegationChanges {
                        lead_id: Some(Some(lead)),
                        status: Some("active"),
                        ..Default::default()
                    },
                )
                .await?;
                for (n, (first, last, function)) in MEMBERS.iter().enumerate() {
                    anyhow::ensure!(
                        delegations::take_member_slot(conn, delegation.id).await?,
                        "the demo members of {name} exceed its limit"
                    );
                    let data = person(first, last, function, name, country, 100 + index * 10 + n)?;
                    let registration = Registration {
                        event_id: event.id,
                        registered_by: lead,
                        group: Group::Delegation(delegation.id),
                        category: Category::DelegationMember,
                        protocol_level: Some(level),
                        press: None,
                        approved: false,
                        protocol_note: None,
                    };
                    let id = Uuid::now_v7();
                    let sealed = vault.seal(id, &data.id_document_number)?;
                    members.push(participants::insert(conn, id, &registration, &data, &sealed).await?.1.id);
                    // The first delegation's head carries its note verbale, for the officers.
                    if index == 0 && n == 0 {
                        let note = note_verbale(name);
                        scans::save(
                            conn,
                            &NewScan {
                                participant_id: id,
                                kind: DocumentKind::NoteVerbale,
                                content_type: "application/pdf",
                                sha256: Sha256::digest(&note).to_vec(),
                                size: i32::try_from(note.len())?,
                                sealed: vault.seal_scan(id, DocumentKind::NoteVerbale.as_str(), &note)?,
                                uploaded_by: lead,
                            },
                        )
                        .await?;
                    }
                }
            }
            // The services have cleared a few delegation members and refused one, so that the
            // vetting queue shows the flow (the rest stays pending).
            let officer = Actor { id: officer.context("the demo vetting officer")?, ip: None };
            let keys = BadgeKeys::new(&settings.badges)?;
            for (n, id) in members.iter().take(5).enumerate() {
                let refused = n == 4;
                let ruling = VettingRuling {
                    state: if refused { VettingState::Refused } else { VettingState::Cleared },
                    note: refused.then(|| "Demo: listed by the services".to_owned()),
                    reference: Some(format!("DEMO-{n:03}")),
                    message: None,
                    version: None,
                };
                decision::decide(conn, &keys, &event, &officer, *id, ruling).await?;
            }
            let mut visitors = Vec::new();
            for (index, (first, last, category)) in VISITORS.iter().enumerate() {
                let email = format!("visitor{index}@demo.bamex.ml");
                let (user, _) = account(conn, &email, &format!("{first} {last}"), Locale::Fr, &[Role::Visitor]).await?;
                let data = person(first, last, "Visiteur", "Particulier", "ML", 900 + index)?;
                let press = (*category == Category::Media).then(|| ("L'Essor".to_owned(), "ML-PRESS-0421".to_owned()));
                let registration = Registration {
                    event_id: event.id,
                    registered_by: user,
                    group: Group::Visitor(user),
                    category: *category,
                    protocol_level: None,
                    press,
                    approved: false,
                    protocol_note: None,
                };
                let id = Uuid::now_v7();
                let sealed = vault.seal(id, &data.id_document_number)?;
                let (_, accreditation) = participants::insert(conn, id, &registration, &data, &sealed).await?;
                visitors.push((user, accreditation.id));
            }
            let organizer = organizer.context("the demo organizer")?;
            for (n, (first, last, function, organization, category, note)) in OFFICE.iter().enumerate() {
                let data = person(first, last, function, organization, "ML", 970 + n)?;
                let registration = Registration {
                    event_id: event.id,
                    registered_by: organizer,
                    group: Group::Office(event.id),
                    category: *category,
                    protocol_level: None,
                    press: None,
                    approved: false,
                    protocol_note: Some((*note).to_owned()),
                };
                let id = Uuid::now_v7();
                let sealed = vault.seal(id, &data.id_document_number)?;
                participants::insert(conn, id, &registration, &data, &sealed).await?;
            }
            // Two gate devices: one enrolled at the halls, one waiting for its enrollment at the
            // range. Their code and token are random and thrown away (nothing secret printed):
            // register a device to get a code of your own.
            let mut halls_scanner = None;
            for (name, gate, zone, enrolled) in [
                ("Hall A entrance, scanner 1", "north-1", Zone::ExhibitionHalls, true),
                ("Koulikoro range gate", "range-1", Zone::DemonstrationRange, false),
            ] {
                let code = VerificationCode::generate();
                let device = store_devices::insert(
                    conn,
                    &NewDevice {
                        id: Uuid::now_v7(),
                        event_id: event.id,
                        name,
                        gates: &[gate.to_owned()],
                        zones: &[zone],
                        created_by: Some(organizer),
                        enrollment_code_digest: code.hash(),
                        enrollment_expires_at: Utc::now()
                            + chrono::Duration::hours(settings.gates.enrollment_code_ttl_hours.into()),
                    },
                )
                .await?;
                if enrolled {
                    let (_, token_digest) = device_tokens::generate();
                    store_devices::enroll(conn, &code.hash(), &token_digest)
                        .await?
                        .map_err(|refused| anyhow::anyhow!("enrolling a demo device: {refused:?}"))?;
                    halls_scanner = Some(device);
                }
            }
            // Lost badges: the visitors are approved; the trade visitor, cleared, had their badge
            // reissued (now `…-2`); the public visitor reported hers lost and waits in the
            // organizers' reissue queue (the journalist still awaits the services' clearance).
            let organizer = Actor { id: organizer, ip: None };
            let approve = Ruling { decision: Decision::Approve, reason: None, version: None };
            let ids: Vec<Uuid> = visitors.iter().map(|(_, id)| *id).collect();
            for outcome in workflow::decide(conn, &keys, &event, &organizer, &ids, approve).await? {
                outcome?;
            }
            let [(_, trade), (public, reported), _] = visitors.as_slice() else {
                anyhow::bail!("the demo has three visitors");
            };
            let clear = VettingRuling {
                state: VettingState::Cleared,
                note: None,
                reference: Some("DEMO-TRADE".to_owned()),
                message: None,
                version: None,
            };
            decision::decide(conn, &keys, &event, &officer, *trade, clear).await?;
            let reissued = reissue::reissue(conn, &keys, &event, &organizer, *trade, "Demo: badge damaged").await?;
            let public = Actor { id: *public, ip: None };
            lost::report_lost(conn, &event, &public, *reported).await?;
            // The halls scanner's first sync, as the device makes it (`gates/sync/feed.rs`): its
            // `last_sync_at` is set. Later syncs from its cursor list the reissue's and the lost
            // badge's ends, which this transaction's own changes log rows hold.
            let halls_scanner = halls_scanner.context("the demo enrolls the halls scanner")?;
            let mut cursor = None;
            let mut synced_badges = 0;
            loop {
                let page = feed::page(conn, &event, &halls_scanner.zones, cursor, 2000).await?;
                synced_badges += page.badges.len();
                cursor = Some(page.next);
                if !page.more {
                    break;
                }
            }
            store_devices::synced(conn, halls_scanner.id).await?;
            // The halls scanner's offline upload: the guard typed the reissued badge's number,
            // and the lost one's, letting both in; the lost one is an alert (`…/gate-alerts`), and
            // so is any scan made on a day its badge is not valid.
            let lost_number: String = badges::table
                .filter(badges::accreditation_id.eq(*reported))
                .filter(badges::end_reason.eq(BadgeEnd::ReportedLost.as_str()))
                .select(badges::number)
                .first(conn)
                .await?;
            let typed = [reissued.number, lost_number].map(|number| UploadedScan {
                id: Uuid::now_v7(),
                source: BadgeSource::Number(number),
                gate: "north-1".to_owned(),
                zone: Zone::ExhibitionHalls,
                direction: Direction::In,
                scanned_at: Utc::now().trunc_subsecs(6),
                offline_verdict: Verdict::Allowed,
            });
            let numbers = typed.iter().filter_map(|scan| scan.entered_number().map(str::to_owned)).collect();
            let found = Badges::new(offline::badges_named(conn, event.id, Vec::new(), numbers).await?);
            let rows: Vec<_> = typed.iter().map(|scan| scan.to_record(&event, &found)).collect();
            offline::record(conn, event.id, halls_scanner.id, None, &rows).await?;
            offline::mark_upload(conn, halls_scanner.id).await?;
            let count: i64 = exhibitors::table
                .filter(exhibitors::event_id.eq(event.id))
                .count()
                .get_result(conn)
                .await?;
            println!(
                "seeded bamex-2026: {count} exhibitors, The Peak Defense pavilion, booths and staff, {} contractors, {} delegations with members, {} visitors, {} entered by the office, 2 gate devices (the halls scanner synced {synced_badges} badges) and an offline upload with one alert",
                CONTRACTORS.len(),
                DELEGATIONS.len(),
                VISITORS.len(),
                OFFICE.len()
            );
            Ok(credentials)
        })
        .await?;
    if credentials.is_empty() {
        println!("demo data already present; nothing changed");
    }
    for (email, password) in credentials {
        println!("demo account {email}  password {password}");
    }
    Ok(())
}
