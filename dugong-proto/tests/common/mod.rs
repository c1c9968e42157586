//! Helpers shared by the integration tests: put a connection in a state in
//! one line, feed it bytes in pieces, and collect its events.
#![allow(dead_code)]

use dugong_proto::{Bytes, Connection, Error, Event, RequestId};

#[path = "../../examples/replay/spec.rs"]
mod spec;

/// Sends one request in the `replay` example's syntax (`METHOD`,
/// `METHOD:expect100` or `METHOD:upgrade`); panics on an unknown flag.
pub(crate) fn send_spec(conn: &mut Connection, spec: &str) -> Result<RequestId, Error> {
    match spec::send_spec(conn, spec) {
        Ok(id) => Ok(id),
        Err(spec::SpecError::Rejected(e)) => Err(e),
        Err(spec::SpecError::UnknownFlag(flag)) => panic!("unknown request flag {flag:?}"),
    }
}

/// A connection with these requests in flight and their bytes written.
pub(crate) fn conn_with(specs: &[&str]) -> Connection {
    let mut conn = Connection::default();
    for spec in specs {
        send_spec(&mut conn, spec).expect("request accepted");
    }
    while conn.poll_transmit().is_some() {}
    conn
}

/// Polls events until more bytes are needed or an error (which ends the
/// list).
pub(crate) fn drain(conn: &mut Connection, out: &mut Vec<Result<Event, Error>>) {
    loop {
        match conn.poll_event() {
            Ok(Some(event)) => out.push(Ok(event)),
            Ok(None) => return,
            Err(e) => {
                out.push(Err(e));
                return;
            }
        }
    }
}

/// Feeds `input` in pieces of `split` bytes (0 = all at once), draining
/// events after each, then the end of stream if `eof`. Stops at the first
/// error.
pub(crate) fn feed(
    conn: &mut Connection,
    input: &[u8],
    split: usize,
    eof: bool,
) -> Vec<Result<Event, Error>> {
    feed_with(conn, input, split, eof, |conn, piece| {
        conn.receive(piece).expect("receive accepted");
    })
}

/// Like [`feed`], with `give` handing each piece to the connection.
pub(crate) fn feed_with(
    conn: &mut Connection,
    input: &[u8],
    split: usize,
    eof: bool,
    mut give: impl FnMut(&mut Connection, &[u8]),
) -> Vec<Result<Event, Error>> {
    let mut out = Vec::new();
    let pieces: Vec<&[u8]> = if split == 0 || input.is_empty() {
        vec![input]
    } else {
        input.chunks(split).collect()
    };
    for piece in pieces {
        if matches!(out.last(), Some(Err(_))) {
            return out;
        }
        give(conn, piece);
        drain(conn, &mut out);
    }
    if eof && !matches!(out.last(), Some(Err(_))) {
        conn.receive_eof();
        drain(conn, &mut out);
    }
    out
}

/// Merges adjacent `Data` events, so traces from different splits compare
/// equal.
pub(crate) fn normalize(events: Vec<Result<Event, Error>>) -> Vec<Result<Event, Error>> {
    let mut out: Vec<Result<Event, Error>> = Vec::with_capacity(events.len());
    for event in events {
        if let (Some(Ok(Event::Data(prev))), Ok(Event::Data(next))) = (out.last_mut(), &event) {
            let mut joined = prev.to_vec();
            joined.extend_from_slice(next);
            *prev = Bytes::from(joined);
            continue;
        }
        out.push(event);
    }
    out
}

/// `requests` in flight, `input` received whole, then EOF if `eof`:
/// the normalized events.
pub(crate) fn run(requests: &[&str], input: &[u8], eof: bool) -> Vec<Result<Event, Error>> {
    let mut conn = conn_with(requests);
    normalize(feed(&mut conn, input, 0, eof))
}
