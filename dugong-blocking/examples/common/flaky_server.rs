//! The loopback server of the `rest` examples (dugong-blocking's and
//! dugong-tokio's): it answers each request with its path and drops
//! connections at random. Plain std, one thread per connection; it reads
//! requests just well enough for the examples' clients (request line,
//! fields, a `Content-Length` body).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A loopback server that answers each request with its path, and ends
/// each connection after a random number (1 to 100) of answers: half the
/// time announcing it (`Connection: close`), otherwise just closing.
pub(crate) struct FlakyServer {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// Requests read whole.
    pub(crate) seen: Arc<AtomicUsize>,
    /// Connections it dropped.
    pub(crate) dropped: Arc<AtomicUsize>,
}

impl FlakyServer {
    /// Starts it on 127.0.0.1, on a port of the system's choosing.
    pub(crate) fn start() -> std::io::Result<FlakyServer> {
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
