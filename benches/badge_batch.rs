//! What a 500-badge batch PDF costs to render (A4 sheets of four, a distinct photo on every
//! badge, QR tokens of a real badge's length), and one badge alone as an approval email
//! attaches it: wall time, and how far the process's peak RSS rises above what it held before
//! rendering (the cards with their photos, as the batch route holds them after its one query).
//!
//!     cargo bench --bench badge_batch            # release, as BENCHMARKS.md reports it
//!     cargo bench --profile dev --bench badge_batch

use std::io::Cursor;
use std::time::Instant;

use bamex::accreditations::Category;
use bamex::accreditations::pdf::{self, BadgeCard};

const BATCH: usize = 500;

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

fn card(n: usize) -> BadgeCard {
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
        photo: Some(photo(n).into()),
    }
}

fn main() {
    let cards: Vec<BadgeCard> = (0..BATCH).map(card).collect();
    let single = [card(BATCH)];
    // The first document parses the fonts; the service pays that once per process.
    pdf::badges_a6(&single).expect("renders");

    let mut times = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        pdf::badges_a6(&single).expect("renders");
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "one A6 badge with photo: median {:.1} ms, max {:.1} ms over {} renders",
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    );

    let before = status_mib("VmRSS:");
    let started = Instant::now();
    let bytes = pdf::badges_a4(&cards).expect("renders");
    let elapsed = started.elapsed();
    let peak = status_mib("VmHWM:");
    println!(
        "{BATCH}-badge batch on A4: {:.2} s ({:.0} badges/s), {:.1} MB of PDF, RSS {before:.0} MiB before, peak {peak:.0} MiB (+{:.0} MiB)",
        elapsed.as_secs_f64(),
        BATCH as f64 / elapsed.as_secs_f64(),
        bytes.len() as f64 / 1e6,
        peak - before
    );
}
