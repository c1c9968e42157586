//! A server that never answers, and an address where nothing listens.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(10);

/// A server on `127.0.0.1` that accepts connections and never writes a
/// byte: whatever a client sends is read and thrown away (so a client's
/// writes never block), and connections stay open until the server is
/// dropped, when they are all closed. For testing read timeouts.
#[derive(Debug)]
pub struct SilentServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl SilentServer {
    /// Starts the server on a free loopback port.
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = listener
            .local_addr()
            .expect("local_addr of a bound listener");
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let thread = {
            let stop = Arc::clone(&stop);
            let accepted = Arc::clone(&accepted);
            std::thread::Builder::new()
                .name(format!("silent-server-{}", addr.port()))
                .spawn(move || run(listener, &stop, &accepted))
                .expect("spawn the server thread")
        };
        SilentServer {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    /// The address the server listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections the server has accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn run(listener: TcpListener, stop: &AtomicBool, accepted: &AtomicUsize) {
    let mut connections: Vec<TcpStream> = Vec::new();
    let mut scratch = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
        let mut idle = true;
        match listener.accept() {
            Ok((stream, _)) => {
                if stream.set_nonblocking(true).is_ok() {
                    connections.push(stream);
                    accepted.fetch_add(1, Ordering::SeqCst);
                }
                idle = false;
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            Err(_) => {}
        }
        // Read and discard; keep connections whose peer closed too (they
        // cost nothing and are closed on drop).
        for stream in &mut connections {
            while let Ok(n) = stream.read(&mut scratch) {
                if n == 0 {
                    break;
                }
                idle = false;
            }
        }
        if idle {
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A loopback address where nothing listens (a listener was bound to a free
/// port and dropped), so connecting to it is refused.
pub fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local_addr of a bound listener")
}
