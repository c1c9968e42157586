//! `event_loop`: drives several HTTP/1.1 connections from one thread with
//! plain non-blocking sockets and `poll(2)` — dugong-proto embedded in a
//! custom event loop, with no adapter.
//!
//! ```text
//! cargo run -q -p dugong-proto --example event_loop [-- HOST:PORT PATH...]
//! ```
//!
//! With no arguments it starts a small loopback server of its own and
//! fetches `/a` ... `/e` over each of three connections, pipelined; with
//! arguments it fetches the paths from `HOST:PORT` over three connections.
//! Each line printed is one response: the connection, the status, the body
//! length. Unix only (it uses `poll(2)`).

#[cfg(not(unix))]
fn main() {
    eprintln!("event_loop: this example uses poll(2) and runs on Unix only");
}

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    unix::main()
}

#[cfg(unix)]
mod unix {
    use std::io::{self, IoSlice, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::ExitCode;

    use dugong_proto::{Body, Connection, Event};
    use rustix::event::{poll, PollFd, PollFlags};

    /// One socket and the state machine that speaks HTTP over it.
    struct Client {
        socket: TcpStream,
        conn: Connection,
        status: u16,
        body_len: usize,
        eof: bool,
    }

    impl Client {
        /// Writes what the state machine queued, until the socket would
        /// block.
        fn write(&mut self) -> io::Result<()> {
            while self.conn.transmit_len() > 0 {
                let slices: Vec<IoSlice<'_>> =
                    self.conn.transmit_segments().map(IoSlice::new).collect();
                match self.socket.write_vectored(&slices) {
                    Ok(n) => self.conn.consume_transmit(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }

        /// Reads what arrived, until the socket would block or closes.
        fn read(&mut self) -> io::Result<()> {
            loop {
                let socket = &mut self.socket;
                match self.conn.read_into(16 * 1024, |buf| socket.read(buf)) {
                    Ok(0) => {
                        self.conn.receive_eof();
                        self.eof = true;
                        return Ok(());
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        }

        /// Prints the responses completed so far; false once the state
        /// machine failed.
        fn events(&mut self, name: usize) -> bool {
            loop {
                match self.conn.poll_event() {
                    Ok(Some(Event::Headers(head))) => {
                        self.status = head.status();
                        self.body_len = 0;
                    }
                    Ok(Some(Event::Data(piece))) => self.body_len += piece.len(),
                    Ok(Some(Event::End { .. })) => {
                        println!(
                            "connection {name}: {} ({} bytes)",
                            self.status, self.body_len
                        );
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return true,
                    Err(e) => {
                        eprintln!("connection {name}: {} error: {e}", e.kind().as_str());
                        return false;
                    }
                }
            }
        }
    }

    pub(super) fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let (addr, paths) = match args.split_first() {
            Some((addr, paths)) if !paths.is_empty() => (addr.clone(), paths.to_vec()),
            Some(_) => {
                eprintln!("usage: event_loop [HOST:PORT PATH...]");
                return ExitCode::from(2);
            }
            None => {
                let addr = start_server();
                let paths = ["/a", "/b", "/c", "/d", "/e"].map(String::from).to_vec();
                (addr, paths)
            }
        };
        match run(&addr, &paths) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("event_loop: {addr}: {e}");
                ExitCode::FAILURE
            }
        }
    }

    fn run(addr: &str, paths: &[String]) -> io::Result<bool> {
        let mut clients = Vec::new();
        for _ in 0..3 {
            let socket = TcpStream::connect(addr)?;
            socket.set_nonblocking(true)?;
            let mut conn = Connection::default();
            conn.set_host(Some(addr.to_owned().into()));
            for path in paths {
                conn.send_request("GET", path, [("Accept", "*/*")], Body::Empty)
                    .map_err(io::Error::from)?;
            }
            clients.push(Client {
                socket,
                conn,
                status: 0,
                body_len: 0,
                eof: false,
            });
        }
        let mut ok = true;
        // Until every connection has its responses (or failed).
        loop {
            let live: Vec<usize> = (0..clients.len())
                .filter(|&i| clients[i].conn.in_flight() > 0 && clients[i].conn.error().is_none())
                .collect();
            if live.is_empty() {
                return Ok(ok);
            }
            let mut fds: Vec<PollFd<'_>> = live
                .iter()
                .map(|&i| {
                    let client = &clients[i];
                    let mut flags = PollFlags::IN;
                    if client.conn.transmit_len() > 0 {
                        flags |= PollFlags::OUT;
                    }
                    PollFd::new(&client.socket, flags)
                })
                .collect();
            poll(&mut fds, None)?;
            let ready: Vec<(usize, PollFlags)> = live
                .iter()
                .zip(&fds)
                .map(|(&i, fd)| (i, fd.revents()))
                .collect();
            drop(fds);
            for (i, revents) in ready {
                let client = &mut clients[i];
                if revents.intersects(PollFlags::OUT | PollFlags::ERR | PollFlags::HUP) {
                    client.write()?;
                }
                if revents.intersects(PollFlags::IN | PollFlags::ERR | PollFlags::HUP)
                    && !client.eof
                {
                    client.read()?;
                }
                ok &= client.events(i + 1);
            }
        }
    }

    /// A small loopback server: answers each request head with a body
    /// that names its path.
    fn start_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address").to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(stream));
            }
        });
        addr
    }

    fn serve(mut stream: TcpStream) {
        let mut seen = Vec::new();
        let mut buf = [0; 4096];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            seen.extend_from_slice(&buf[..n]);
            while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&seen[..end]).into_owned();
                seen.drain(..end + 4);
                let path = head.split(' ').nth(1).unwrap_or("/");
                let body = format!("you asked for {path}\n");
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(response.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}
