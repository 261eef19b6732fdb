//! Badge PDFs as printed: the holder's photo really on the badge, a stored photo that does not
//! decode refused by name (never a blank placeholder), and batches with one slot per badge.

use bamex::users::Role;
use diesel::sql_types;
use diesel_async::RunQueryDsl;

use crate::fixtures::{EVENT, approve, event_from_today, get, visitor};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

/// A colour no other part of a badge has.
const PHOTO_COLOUR: [u8; 3] = [230, 40, 170];
/// The grey of the frame drawn where a person has no photo.
const PLACEHOLDER: [u8; 3] = [225, 225, 225];
/// Rendering resolution, dots per inch.
const DPI: f32 = 100.0;

/// Runs a command and returns its standard output.
fn run(program: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (poppler-utils): {e}"));
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A downloaded PDF in a directory of its own, removed at the end.
struct Pdf {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl Pdf {
    async fn from(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        let dir = std::env::temp_dir().join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("badges.pdf");
        std::fs::write(&path, response.bytes().await.unwrap()).unwrap();
        Self { dir, path }
    }

    fn pages(&self) -> u32 {
        run("pdfinfo", &[self.path.to_str().unwrap()])
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .map(|n| n.trim().parse().unwrap())
            .unwrap()
    }

    fn text(&self) -> String {
        run("pdftotext", &[self.path.to_str().unwrap(), "-"])
    }

    /// The first page as pixels.
    fn first_page(&self) -> image::RgbImage {
        let stem = self.dir.join("page");
        run(
            "pdftoppm",
            &[
                "-r",
                &DPI.to_string(),
                "-png",
                "-singlefile",
                self.path.to_str().unwrap(),
                stem.to_str().unwrap(),
            ],
        );
        image::open(self.dir.join("page.png")).unwrap().to_rgb8()
    }
}

impl Drop for Pdf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The average colour of a 4 mm square at (x, y) millimetres from the page's top-left corner.
fn colour_at(page: &image::RgbImage, x: f32, y: f32) -> [u8; 3] {
    let px = |mm: f32| (mm / 25.4 * DPI) as u32;
    let (mut sum, mut n) = ([0u32; 3], 0);
    for row in px(y)..px(y + 4.0) {
        for col in px(x)..px(x + 4.0) {
            let pixel = page.get_pixel(col, row).0;
            for (s, p) in sum.iter_mut().zip(pixel) {
                *s += u32::from(p);
            }
            n += 1;
        }
    }
    sum.map(|s| (s / n) as u8)
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(&a, b)| a.abs_diff(b) <= 20)
}

/// A point inside a badge's photo frame (6–36 mm across, 30–67.5 mm down the badge), clear
/// of the placeholder's label.
const IN_FRAME: (f32, f32) = (10.0, 33.0);

struct Holder {
    user: TestUser,
    accreditation: String,
    participant: String,
    number: String,
}

/// An approved trade visitor; with a photo of [`PHOTO_COLOUR`] uploaded by themselves first if
/// `photo`.
async fn holder(app: &TestApp, organizer: &TestUser, name: &str, photo: bool) -> Holder {
    let (user, accreditation) = visitor(app, "trade_visitor", name, &format!("P{name}")).await;
    let participant = get(app, organizer, &accreditation).await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if photo {
        let solid = image::RgbImage::from_pixel(400, 500, image::Rgb(PHOTO_COLOUR));
        let mut png = Vec::new();
        solid
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let stored = app
            .client
            .put(app.url(&format!("{EVENT}/participants/{participant}/photo")))
            .bearer_auth(&user.access_token)
            .header("content-type", "image/png")
            .body(png)
            .send()
            .await
            .unwrap();
        assert_eq!(stored.status(), 204);
    }
    let approved = approve(app, organizer, &accreditation).await;
    let number = approved["badge"]["number"].as_str().unwrap().to_owned();
    Holder {
        user,
        accreditation,
        participant,
        number,
    }
}

/// Damages the stored photo the way a bad disk or a bad restore would: its first bytes.
async fn corrupt_photo(app: &TestApp, participant: &str) {
    let changed = diesel::sql_query(
        "UPDATE participant_photos SET jpeg = overlay(jpeg PLACING '\\xdeadbeefdeadbeef'::bytea FROM 1) \
         WHERE participant_id = $1",
    )
    .bind::<sql_types::Uuid, _>(participant.parse::<uuid::Uuid>().unwrap())
    .execute(&mut app.conn().await)
    .await
    .unwrap();
    assert_eq!(changed, 1);
}

fn badge_pdf(holder: &Holder) -> String {
    format!("{EVENT}/accreditations/{}/badge.pdf", holder.accreditation)
}

async fn prints(app: &TestApp, organizer: &TestUser, holder: &Holder) -> i64 {
    get(app, organizer, &holder.accreditation).await["badge"]["prints"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_badge_prints_the_holders_photo_and_the_placeholder_only_without_one() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let pictured = holder(&app, &organizer, "Traore", true).await;
    let unpictured = holder(&app, &organizer, "Keita", false).await;

    let pdf = Pdf::from(
        app.get_as(&badge_pdf(&pictured), &pictured.user.access_token)
            .await,
    )
    .await;
    assert_eq!(pdf.pages(), 1);
    let page = pdf.first_page();
    let seen = colour_at(&page, IN_FRAME.0, IN_FRAME.1);
    assert!(close(seen, PHOTO_COLOUR), "the photo is printed: {seen:?}");
    // Nowhere else on the badge: the band, text and QR are other colours.
    let outside = colour_at(&page, 60.0, 100.0);
    assert!(!close(outside, PHOTO_COLOUR), "{outside:?}");

    let pdf = Pdf::from(
        app.get_as(&badge_pdf(&unpictured), &organizer.access_token)
            .await,
    )
    .await;
    let seen = colour_at(&pdf.first_page(), IN_FRAME.0, IN_FRAME.1);
    assert!(
        close(seen, PLACEHOLDER),
        "no photo, the grey frame: {seen:?}"
    );
}

#[tokio::test]
async fn an_undecodable_photo_is_refused_by_badge_number_never_printed_blank() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let mut holders = Vec::new();
    for (n, name) in ["Diarra", "Coulibaly", "Sissoko", "Konate", "Dembele"]
        .into_iter()
        .enumerate()
    {
        holders.push(holder(&app, &organizer, name, n < 3).await);
    }

    // Five badges, one slot each, on two A4 sheets; every photo where it belongs.
    let batch = Pdf::from(
        app.get_as(
            &format!("{EVENT}/badges.pdf?category=trade_visitor"),
            &organizer.access_token,
        )
        .await,
    )
    .await;
    assert_eq!(batch.pages(), 2, "five badges on sheets of four");
    let text = batch.text();
    for holder in &holders {
        assert_eq!(
            text.matches(&holder.number).count(),
            1,
            "{} printed once: {text}",
            holder.number
        );
    }
    let sheet = batch.first_page();
    let badges_with_photo = [(0.0, 0.0), (105.0, 0.0), (0.0, 148.0), (105.0, 148.0)]
        .iter()
        .filter(|(x, y)| {
            close(
                colour_at(&sheet, x + IN_FRAME.0, y + IN_FRAME.1),
                PHOTO_COLOUR,
            )
        })
        .count();
    assert_eq!(badges_with_photo, 3, "three photos on the first sheet");
    drop(batch);

    let broken = &holders[1];
    corrupt_photo(&app, &broken.participant).await;
    let before = prints(&app, &organizer, broken).await;

    for token in [&organizer.access_token, &broken.user.access_token] {
        let refused = assert_problem(
            app.get_as(&badge_pdf(broken), token).await,
            409,
            "photo_unreadable",
        )
        .await;
        assert!(
            refused["detail"].as_str().unwrap().contains(&broken.number),
            "{refused}"
        );
    }
    let refused = assert_problem(
        app.get_as(
            &format!("{EVENT}/badges.pdf?category=trade_visitor"),
            &organizer.access_token,
        )
        .await,
        409,
        "photo_unreadable",
    )
    .await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains(&broken.number), "{detail}");
    assert!(!detail.contains(&holders[0].number), "{detail}");
    assert_eq!(
        prints(&app, &organizer, broken).await,
        before,
        "nothing printed, nothing counted"
    );

    // Someone else's badge stays theirs to know about; the others still print.
    let stranger = app.user_with_roles(&[Role::Visitor]).await;
    assert_problem(
        app.get_as(&badge_pdf(broken), &stranger.access_token).await,
        404,
        "not_found",
    )
    .await;
    let fine = Pdf::from(
        app.get_as(&badge_pdf(&holders[0]), &organizer.access_token)
            .await,
    )
    .await;
    assert!(fine.text().contains(&holders[0].number));
}

/// Copies `holder`'s person, approved accreditation, badge and photo `copies` times straight in
/// the database (an HTTP registration each would take minutes), with badge numbers
/// `B26-TRV-9nnnnn` and people `md5('p' || n)::uuid`, n from 1.
async fn copy_holder(app: &TestApp, holder: &Holder, copies: i32) {
    let participant: uuid::Uuid = holder.participant.parse().unwrap();
    let accreditation: uuid::Uuid = holder.accreditation.parse().unwrap();
    let mut conn = app.conn().await;
    // Each row is the original's, with the fields a copy changes put over it: (table, the
    // original's key column and its value, those fields).
    let copied = [
        (
            "participants",
            "id",
            participant,
            "'id', md5('p' || g)::uuid, 'user_id', NULL, 'last_name', o.last_name || g",
        ),
        (
            "participant_photos",
            "participant_id",
            participant,
            "'participant_id', md5('p' || g)::uuid",
        ),
        (
            "accreditations",
            "id",
            accreditation,
            "'id', md5('a' || g)::uuid, 'participant_id', md5('p' || g)::uuid",
        ),
        (
            "badges",
            "accreditation_id",
            accreditation,
            "'id', md5('b' || g)::uuid, 'accreditation_id', md5('a' || g)::uuid, \
             'number', 'B26-TRV-9' || lpad(g::text, 5, '0')",
        ),
    ];
    #[derive(diesel::QueryableByName)]
    struct Columns {
        #[diesel(sql_type = sql_types::Text)]
        list: String,
    }
    for (table, key, original, fields) in copied {
        // Generated columns (a person's search text) are left to the database.
        let columns = diesel::sql_query(
            "SELECT string_agg('r.' || column_name, ', ' ORDER BY ordinal_position) AS list \
             FROM information_schema.columns WHERE table_name = $1 AND is_generated = 'NEVER'",
        )
        .bind::<sql_types::Text, _>(table)
        .get_result::<Columns>(&mut conn)
        .await
        .unwrap()
        .list;
        let statement = format!(
            "INSERT INTO {table} ({names}) SELECT {columns} \
             FROM {table} o, generate_series(1, $2) g, \
                  jsonb_populate_record(o, jsonb_build_object({fields})) r \
             WHERE o.{key} = $1",
            names = columns.replace("r.", ""),
        );
        let rows = diesel::sql_query(&statement)
            .bind::<sql_types::Uuid, _>(original)
            .bind::<sql_types::Integer, _>(copies)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(rows, copies as usize, "{statement}");
    }
}

/// The prints counted on the copies' badges, in all.
async fn prints_of_copies(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Total {
        #[diesel(sql_type = sql_types::BigInt)]
        prints: i64,
    }
    diesel::sql_query(
        "SELECT sum(prints)::int8 AS prints FROM badges WHERE number LIKE 'B26-TRV-9%'",
    )
    .get_result::<Total>(&mut app.conn().await)
    .await
    .unwrap()
    .prints
}

#[tokio::test]
async fn a_batch_beyond_the_old_cap_streams_as_one_pdf_unless_a_late_photo_is_broken() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let pictured = holder(&app, &organizer, "Traore", true).await;
    holder(&app, &organizer, "Keita", false).await;
    // 600 more with the photo: 602 badges, beyond the 500 a batch used to be limited to.
    copy_holder(&app, &pictured, 600).await;
    let batch = format!("{EVENT}/badges.pdf?category=trade_visitor");

    let response = app.get_as(&batch, &organizer.access_token).await;
    assert!(
        response.headers().get("content-length").is_none(),
        "sent as it is drawn, so without a length: {:?}",
        response.headers()
    );
    let pdf = Pdf::from(response).await;
    assert_eq!(prints(&app, &organizer, &pictured).await, 1);
    assert_eq!(prints_of_copies(&app).await, 600, "each copy counted once");

    // A photo in the batch's last page of cards: still refused before anything is sent.
    diesel::sql_query(
        "UPDATE participant_photos SET jpeg = overlay(jpeg PLACING '\\xdeadbeef'::bytea FROM 1) \
         WHERE participant_id = md5('p' || 597)::uuid",
    )
    .execute(&mut app.conn().await)
    .await
    .unwrap();
    let refused = assert_problem(
        app.get_as(&batch, &organizer.access_token).await,
        409,
        "photo_unreadable",
    )
    .await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("B26-TRV-900597"), "{detail}");
    assert!(!detail.contains("B26-TRV-900596"), "{detail}");
    assert_eq!(prints_of_copies(&app).await, 600, "nothing counted");

    // Read last: the tools block this thread, and with it the client's connections.
    assert_eq!(pdf.pages(), 151, "602 badges on sheets of four");
    let text = pdf.text();
    for number in [pictured.number.as_str(), "B26-TRV-900001", "B26-TRV-900600"] {
        assert_eq!(text.matches(number).count(), 1, "{number} printed once");
    }
    let sheet = pdf.first_page();
    assert!(close(
        colour_at(&sheet, IN_FRAME.0, IN_FRAME.1),
        PHOTO_COLOUR
    ));
}
