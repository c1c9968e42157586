//! The pooled [`Client`] against a flaky server, from many tasks: the
//! loopback server of dugong-blocking's `rest` example (it drops
//! connections at random, sometimes announcing it, sometimes not), and 32
//! tasks sending GETs, PUTs and keyed POSTs through one pool. Prints how
//! many requests were sent again and checks that every response arrived
//! exactly once, for the request it answers.
//!
//! ```text
//! cargo run -p dugong-tokio --example rest [-- REQUESTS]
//! ```

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dugong_tokio::{Body, Builder, Client, PoolConfig};

// The same server as dugong-blocking's `rest` example (std threads).
#[path = "../../dugong-blocking/examples/common/flaky_server.rs"]
mod flaky_server;
use flaky_server::FlakyServer;

const TASKS: usize = 32;

/// Counts shared by the tasks.
#[derive(Default)]
struct Tally {
    done: AtomicUsize,
    resent: AtomicUsize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 2000,
    };
    let server = FlakyServer::start()?;
    let base = format!("http://{}", server.addr);
    let client = Client::with_settings(
        &Builder::new("localhost", 80).timeout(Duration::from_secs(10)),
        pool_config(),
    );
    let tally = Arc::new(Tally::default());
    let progress = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let (client, tally, base) = (client.clone(), Arc::clone(&tally), base.clone());
        tasks.spawn(async move {
            for i in (t..total).step_by(TASKS) {
                one(&client, &base, i, &tally).await?;
                let n = tally.done.fetch_add(1, Ordering::Relaxed) + 1;
                if progress && n % 100 == 0 {
                    eprint!(
                        "\r{n}/{total} answered, {} resent",
                        tally.resent.load(Ordering::Relaxed)
                    );
                }
            }
            Ok::<(), String>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    if progress {
        eprintln!();
    }
    let answered = tally.done.load(Ordering::Relaxed);
    println!(
        "{answered} of {total} requests answered, each exactly once, in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "{} resent after the server dropped {} connections; the server saw {} requests",
        tally.resent.load(Ordering::Relaxed),
        server.dropped.load(Ordering::Relaxed),
        server.seen.load(Ordering::Relaxed),
    );
    if answered != total {
        return Err("not every request was answered".into());
    }
    Ok(())
}

/// Request `i`: a GET, a PUT or a POST with an `Idempotency-Key`, whose
/// answer must be its own path.
async fn one(client: &Client, base: &str, i: usize, tally: &Tally) -> Result<(), String> {
    let path = format!("/item/{i}");
    let url = format!("{base}{path}");
    let key = format!("key-{i}");
    let sent = match i % 3 {
        0 => client.get(&url).await,
        1 => {
            let body = Body::from(path.clone().into_bytes());
            client.request("PUT", &url, [("Accept", "*/*")], body).await
        }
        // A POST is resent only when the server cannot have processed it,
        // or with an Idempotency-Key.
        _ => {
            let fields = [("Idempotency-Key", key.as_str())];
            client
                .request("POST", &url, fields, Body::from("new"))
                .await
        }
    };
    let mut response = sent.map_err(|e| format!("{path}: {e}"))?;
    let body = response
        .read_all()
        .await
        .map_err(|e| format!("{path}: {e}"))?;
    if body != path.as_bytes() {
        return Err(format!(
            "{path}: got the answer to {:?}",
            String::from_utf8_lossy(&body)
        ));
    }
    tally
        .resent
        .fetch_add(response.resends(), Ordering::Relaxed);
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
