//! How long one argon2id password hash takes on this machine, with the service's parameters.
//! The login benchmark compares its throughput to the ideal `cores / this time`.
//!
//!     cargo bench --bench argon2_hash

use std::time::{Duration, Instant};

use secrecy::SecretString;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut samples: Vec<Duration> = Vec::new();
    for _ in 0..40 {
        let started = Instant::now();
        bamex::auth::password::hash(SecretString::from("Koulikoro-range-2026"))
            .await
            .expect("hashing works");
        samples.push(started.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "argon2id m=19456 t=2 p=1: median {:.1} ms over {} hashes; ideal login rate on {cores} cores: {:.0}/s",
        median.as_secs_f64() * 1e3,
        samples.len(),
        cores as f64 / median.as_secs_f64()
    );
}
