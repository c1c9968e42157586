//! The pooled [`Client`] against a flaky server: a built-in loopback server
//! that drops connections at random (sometimes announcing it, sometimes
//! not), and threads sending GETs, PUTs and keyed POSTs through one pool.
//! Prints how many requests were sent again and checks that every
//! response arrived exactly once, for the request it answers.
//!
//! ```text
//! cargo run -p dugong-blocking --example rest [-- REQUESTS]
//! ```

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dugong_blocking::{Body, Builder, Client, PoolConfig};

// Shared with dugong-tokio's `rest` example.
#[path = "common/flaky_server.rs"]
mod flaky_server;
use flaky_server::FlakyServer;

const THREADS: usize = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 2000,
    };
    let server = FlakyServer::start()?;
    let client = Client::with_settings(
        &Builder::new("localhost", 80).timeout(Duration::from_secs(10)),
        pool_config(),
    );
    let done = AtomicUsize::new(0);
    let resent = AtomicUsize::new(0);
    let started = Instant::now();
    let progress = std::io::stderr().is_terminal();
    std::thread::scope(|s| -> Result<(), String> {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (client, server, done, resent) = (&client, &server, &done, &resent);
                s.spawn(move || -> Result<(), String> {
                    for i in (t..total).step_by(THREADS) {
                        let path = format!("/item/{i}");
                        let url = format!("http://{}{path}", server.addr);
                        let key = format!("key-{i}");
                        let mut response = match i % 3 {
                            0 => client.get(&url),
                            1 => client.request(
                                "PUT",
                                &url,
                                [("Accept", "*/*")],
                                Body::from(path.clone().into_bytes()),
                            ),
                            // A POST is resent only when the server cannot
                            // have processed it, or with an Idempotency-Key.
                            _ => client.request(
                                "POST",
                                &url,
                                [("Idempotency-Key", key.as_str())],
                                Body::from("new"),
                            ),
                        }
                        .map_err(|e| format!("{path}: {e}"))?;
                        let body = response.read_all().map_err(|e| format!("{path}: {e}"))?;
                        if body != path.as_bytes() {
                            return Err(format!(
                                "{path}: got the answer to {:?}",
                                String::from_utf8_lossy(&body)
                            ));
                        }
                        resent.fetch_add(response.resends(), Ordering::Relaxed);
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if progress && n % 100 == 0 {
                            eprint!(
                                "\r{n}/{total} answered, {} resent",
                                resent.load(Ordering::Relaxed)
                            );
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| "a worker panicked".to_owned())??;
        }
        Ok(())
    })?;
    if progress {
        eprintln!();
    }
    let answered = done.load(Ordering::Relaxed);
    println!(
        "{answered} of {total} requests answered, each exactly once, in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "{} resent after the server dropped {} connections; the server saw {} requests",
        resent.load(Ordering::Relaxed),
        server.dropped.load(Ordering::Relaxed),
        server.seen.load(Ordering::Relaxed),
    );
    if answered != total {
        return Err("not every request was answered".into());
    }
    Ok(())
}

/// The default pool, but each request may be sent again 5 times instead of
/// 2: this server drops a connection every 50 answers on average, far more
/// often than a real one, and a GET can be caught unanswered by several
/// drops in a row.
fn pool_config() -> PoolConfig {
    let mut config = PoolConfig::default();
    config.resends_per_request = 5;
    config
}
