//! The pooled [`Client`] against a flaky server: a built-in loopback server
//! that drops connections at random (sometimes announcing it, sometimes
//! not), and threads sending GETs, PUTs and keyed POSTs through one pool.
//! Prints how many requests were sent again and checks that every
//! response arrived exactly once, for the request it answers.
//!
//! ```text
//! cargo run -p dugong-blocking --example rest [-- REQUESTS]
//! ```

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dugong_blocking::{Body, Builder, Client, PoolConfig};

const THREADS: usize = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 2000,
    };
    let server = FlakyServer::start()?;
    let client = Client::with_settings(
        &Builder::new("localhost", 80).timeout(Duration::from_secs(10)),
        PoolConfig::default(),
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

/// A loopback server that answers each request with its path, and ends
/// each connection after a random number (1 to 100) of answers: half the
/// time announcing it (`Connection: close`), otherwise just closing.
struct FlakyServer {
    addr: std::net::SocketAddr,
    seen: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl FlakyServer {
    fn start() -> std::io::Result<FlakyServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (s, d) = (Arc::clone(&seen), Arc::clone(&dropped));
        std::thread::spawn(move || {
            let mut seed = 0x9e37_79b9_7f4a_7c15u64;
            for stream in listener.incoming().flatten() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let (s, d) = (Arc::clone(&s), Arc::clone(&d));
                std::thread::spawn(move || serve(stream, seed, &s, &d));
            }
        });
        Ok(FlakyServer {
            addr,
            seen,
            dropped,
        })
    }
}

fn serve(stream: TcpStream, seed: u64, seen: &AtomicUsize, dropped: &AtomicUsize) {
    let budget = 1 + (seed % 100) as usize;
    let announce = seed & (1 << 20) != 0;
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    for answered in 1..=budget {
        // The request line, then fields up to the empty line.
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut length = 0usize;
        loop {
            let mut field = String::new();
            if reader.read_line(&mut field).unwrap_or(0) == 0 {
                return;
            }
            if field == "\r\n" {
                break;
            }
            if let Some((name, value)) = field.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        seen.fetch_add(1, Ordering::Relaxed);
        let last = answered == budget;
        let close = if last && announce {
            "Connection: close\r\n"
        } else {
            ""
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\n{close}Content-Length: {}\r\n\r\n{path}",
            path.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
    dropped.fetch_add(1, Ordering::Relaxed);
}
