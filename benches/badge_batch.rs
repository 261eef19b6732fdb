//! What a batch badge PDF costs to make, as the batch route makes it (A4 sheets of four, a
//! photo on every badge, QR tokens of a real badge's length), for 500 and 2,000 badges, and one
//! badge alone as an approval email attaches it: wall time, and how far the process's peak RSS
//! rises above what it held before the batch.
//!
//! The route reads the cards twice, a page of 50 at a time: once to decode every photo (the
//! verdict), once to draw them, handing each page's bytes to the client before the next page is
//! read. Here the pages of cards are made in memory instead of read from PostgreSQL, and the
//! bytes are counted and dropped instead of sent; the time is the photo check plus the drawing.
//!
//!     cargo bench --bench badge_batch            # release, as BENCHMARKS.md reports it
//!     cargo bench --profile dev --bench badge_batch

use std::io::Cursor;
use std::time::Instant;

use bamex::accreditations::Category;
use bamex::accreditations::badge_photo::PhotoCheck;
use bamex::accreditations::badge_sheets::{BadgeSheets, Paper, badge_a6};
use bamex::accreditations::cards::BadgeCard;

/// Cards per query, as the route reads them.
const PAGE: usize = 50;

/// A line of /proc/self/status, in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field present");
    kib / 1024.0
}

/// A 400 × 500 JPEG as uploads are stored, different for every `n`.
fn photo(n: usize) -> Vec<u8> {
    let image = image::RgbImage::from_fn(400, 500, |x, y| {
        image::Rgb([
            ((x + n as u32) % 256) as u8,
            ((y * 3 + n as u32) % 256) as u8,
            (n % 256) as u8,
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut jpeg), 85)
        .encode_image(&image)
        .expect("encodes");
    jpeg
}

/// Badge `n`, with one of the page's photos (a page of distinct photos is made once).
fn card(n: usize, photos: &[Vec<u8>]) -> BadgeCard {
    BadgeCard {
        event_name: "BAMEX'26 — Bamako Defence & Security Exhibition".into(),
        holder_name: format!("Ayşe ŞAHİN-{n}"),
        organization: "Sahel Optique Électronique".into(),
        country: "Türkiye".into(),
        category: Category::ExhibitorStaff,
        protocol_level: None,
        number: format!("B26-EXH-{n:06}"),
        // A signed badge token is about this long.
        qr: "x".repeat(420),
        photo: Some(photos[n % photos.len()].clone()),
    }
}

fn page_of_cards(first: usize, badges: usize, photos: &[Vec<u8>]) -> Vec<BadgeCard> {
    (first..(first + PAGE).min(badges))
        .map(|n| card(n, photos))
        .collect()
}

/// A batch of `badges` as the route makes it; the PDF's size in bytes.
fn batch(badges: usize, photos: &[Vec<u8>]) -> usize {
    let mut check = PhotoCheck::default();
    for first in (0..badges).step_by(PAGE) {
        let cards = page_of_cards(first, badges, photos);
        let judged: Vec<(&str, Option<&[u8]>)> = cards
            .iter()
            .map(|card| (card.number.as_str(), card.photo.as_deref()))
            .collect();
        check.judge_all(&judged);
    }
    check.verdict().expect("every photo decodes");
    let mut sheets = BadgeSheets::new(Paper::A4).expect("fonts");
    let mut sent = 0;
    for first in (0..badges).step_by(PAGE) {
        let cards = page_of_cards(first, badges, photos);
        sheets
            .add_all(&cards.iter().collect::<Vec<_>>())
            .expect("draws");
        sent += sheets.take_output().len();
    }
    sent + sheets.finish().expect("finishes").len()
}

fn main() {
    let photos: Vec<Vec<u8>> = (0..PAGE).map(photo).collect();
    let single = card(0, &photos);
    // The first document parses the fonts; the service pays that once per process.
    badge_a6(&single).expect("renders");

    let mut times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        badge_a6(&single).expect("renders");
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "one A6 badge with photo: median {:.1} ms, max {:.1} ms over {} renders",
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    );

    for badges in [500, 2_000] {
        // Resets the peak RSS to the current RSS (Linux 4.0 and later).
        std::fs::write("/proc/self/clear_refs", "5").expect("peak RSS reset");
        let before = status_mib("VmRSS:");
        let started = Instant::now();
        let bytes = batch(badges, &photos);
        let elapsed = started.elapsed();
        let peak = status_mib("VmHWM:");
        println!(
            "{badges}-badge batch on A4: {:.2} s ({:.0} badges/s), {:.1} MB of PDF, RSS {before:.0} MiB before, peak {peak:.0} MiB (+{:.0} MiB)",
            elapsed.as_secs_f64(),
            badges as f64 / elapsed.as_secs_f64(),
            bytes as f64 / 1e6,
            peak - before
        );
    }
}
