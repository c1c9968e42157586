//! `loopback`: an end-to-end benchmark of HTTP/1.1 clients over loopback
//! connections (one each, except the pooled clients).
//!
//! It starts its own server in-process (std threads, one per connection,
//! blocking sockets: see [`server`]), one answering with 100-byte bodies
//! and one with 1 MiB bodies, and measures against each the dugong
//! adapters (pipelined and one at a time), dugong-blocking's pooled
//! `Client` (4 and 1 connections of depth 16), hyper 1.x, hyper-util's
//! pooled legacy client (4 connections), ureq 3 and a raw client
//! (pipelined, also with httparse parsing each head, and one at a time):
//! requests per second, body MB/s, heap allocations per request in steady
//! state, and the peak RSS while one huge body streams through dugong's
//! body readers. See `bench/README.md`.
//!
//! ```text
//! cargo run --release -p dugong-bench --bin loopback -- [--quick] [--json] [--pin CPU] [--only NAME]
//! ```

#![warn(clippy::missing_docs_in_private_items)]

use std::alloc::System;
use std::process::ExitCode;
use std::time::Duration;

use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

mod args;
mod clients;
mod machine;
mod report;
mod rss;
mod server;
mod watchdog;
mod window;

use args::{Options, USAGE};
use clients::{Ctx, Size, CLIENTS};
use report::{Outcome, Report, Row};
use server::{ConnRecord, Server};

/// Counts every heap allocation of the process (`stats_alloc`, as
/// dugong-proto's parse benchmark does).
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Any error a client run can end with.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long past its plan a run may take before the watchdog ends the
/// process.
const GRACE: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(msg) => {
            eprintln!("loopback: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if opts.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let machine = machine::Machine::probe();
    if let Some(cpu) = opts.pin {
        // Every thread started from here on (server, watchdog, tokio's
        // blocking pool) inherits the mask.
        if let Err(e) = machine::pin_current_thread(cpu) {
            eprintln!("loopback: cannot pin to CPU {cpu}: {e}");
            return ExitCode::from(2);
        }
    }
    watchdog::start();
    if let Some(name) = &opts.rss_child {
        return rss::child_main(name, &opts);
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loopback: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plan = opts.plan();
    let mut failed = false;

    let sizes: Vec<Size> = Size::ALL
        .into_iter()
        .filter(|s| match opts.small_only {
            None => true,
            Some(small) => small == (*s == Size::Small),
        })
        .collect();
    let mut rows: Vec<Row> = CLIENTS
        .iter()
        .filter(|c| opts.selects(c.name))
        .map(|&client| Row {
            client,
            small: None,
            large: None,
        })
        .collect();
    if !rows.is_empty() {
        for size in sizes {
            let server = match Server::start(size.body_len(), opts.pin) {
                Ok(server) => server,
                Err(e) => {
                    eprintln!("loopback: cannot start the server: {e}");
                    return ExitCode::FAILURE;
                }
            };
            // Clients take turns, round after round, so that a slow spell
            // of the machine does not hit one client only.
            let mut runs: Vec<Vec<Outcome>> = rows.iter().map(|_| Vec::new()).collect();
            for _ in 0..opts.rounds() {
                for (row, runs) in rows.iter().zip(&mut runs) {
                    let outcome = run_client(row, size, &server, &rt, &opts);
                    failed |= outcome.result.is_err();
                    runs.push(outcome);
                }
            }
            for (row, runs) in rows.iter_mut().zip(runs) {
                let outcome = median(runs, size);
                match size {
                    Size::Small => row.small = Some(outcome),
                    Size::Large => row.large = Some(outcome),
                }
            }
        }
    }

    let rss = if opts.run_rss() {
        rss::run_readers(&opts)
    } else {
        Vec::new()
    };
    failed |= rss.iter().any(|r| r.result.is_err());

    let report = Report {
        machine,
        pin: opts.pin,
        plan,
        rounds: opts.rounds(),
        quick: opts.quick,
        rows,
        rss,
        rss_bytes: opts.rss_bytes(),
    };
    if opts.json {
        println!("{}", report.json());
    } else {
        println!();
        print!("{}", report.markdown());
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The run with the median figure (requests/s for small bodies, MB/s for
/// large ones); the first failed run if any failed.
fn median(mut runs: Vec<Outcome>, size: Size) -> Outcome {
    if let Some(i) = runs.iter().position(|o| o.result.is_err()) {
        return runs.swap_remove(i);
    }
    let figure = |o: &Outcome| match (&o.result, size) {
        (Ok(m), Size::Small) => m.rate(),
        (Ok(m), Size::Large) => m.mb_per_s(),
        (Err(_), _) => 0.0,
    };
    runs.sort_by(|a, b| figure(a).total_cmp(&figure(b)));
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

/// How long the first connection of a client run may take to end once
/// the client returned.
const FIRST_RECORD_WAIT: Duration = Duration::from_secs(10);
/// A client's connections have all ended when no further one ends for
/// this long.
const MORE_RECORDS_WAIT: Duration = Duration::from_millis(300);

/// What the server saw on every connection of the client run that just
/// ended: the first record to arrive (waiting up to
/// [`FIRST_RECORD_WAIT`]), with the counts of any that follow within
/// [`MORE_RECORDS_WAIT`] of each other added in (a pooled client's other
/// connections).
fn client_record(server: &Server) -> Option<ConnRecord> {
    let mut record = server.next_record(FIRST_RECORD_WAIT)?;
    while let Some(more) = server.next_record(MORE_RECORDS_WAIT) {
        record.merge(&more);
    }
    Some(record)
}

/// Runs one client against `server` for one window, printing a progress
/// line.
fn run_client(
    row: &Row,
    size: Size,
    server: &Server,
    rt: &tokio::runtime::Runtime,
    opts: &Options,
) -> Outcome {
    let plan = opts.plan();
    let ctx = Ctx {
        port: server.port(),
        size,
        plan,
        rt,
    };
    let name = row.client.name;
    eprint!("{name:<40} {:>6} ", size.label());
    server.drain_records();
    watchdog::arm(name, plan.warmup + plan.duration + GRACE);
    let result = (row.client.run)(&ctx).map_err(|e| e.to_string());
    let record = client_record(server);
    watchdog::disarm();
    match &result {
        Ok(m) => {
            let figure = match size {
                Size::Small => format!("{:>12} req/s", report::thousands(m.rate())),
                Size::Large => format!("{:>12} MB/s ", report::thousands(m.mb_per_s())),
            };
            eprintln!("{figure} {:>8.2} allocs/req", m.allocs_per_response());
            match &record {
                Some(rec) if rec.requests != m.total_responses => eprintln!(
                    "loopback: warning: {name}: the server answered {} requests, the client read {} responses",
                    rec.requests, m.total_responses
                ),
                None => eprintln!("loopback: warning: {name}: the server did not see the connection end"),
                _ => {}
            }
            if let Some(rec) = &record {
                if rec.connections != row.client.connections {
                    eprintln!(
                        "loopback: warning: {name}: the server saw {} connections, not {}",
                        rec.connections, row.client.connections
                    );
                }
            }
        }
        Err(e) => eprintln!("error: {e}"),
    }
    if opts.verbose {
        if let Some(rec) = &record {
            eprintln!(
                "    {} connection(s); first request head: {:?}",
                rec.connections,
                String::from_utf8_lossy(&rec.first_head)
            );
        }
    }
    Outcome {
        result,
        server: record,
    }
}
