//! The results, as markdown tables or one JSON object.

use std::fmt::Write as _;

use crate::clients::{
    Client, Kind, Size, HYPER, HYPER_UTIL_POOLED, ONE_PIPELINED, POOLED_4X16, RAW_ONE,
    RAW_PIPELINED,
};
use crate::machine::Machine;
use crate::rss::RssResult;
use crate::server::ConnRecord;
use crate::window::{Measurement, Plan};

/// One client run at one size.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// What it measured, or why it failed.
    pub(crate) result: Result<Measurement, String>,
    /// What the server saw on its connections (summed).
    pub(crate) server: Option<ConnRecord>,
}

/// One client at both sizes.
#[derive(Debug)]
pub(crate) struct Row {
    /// The client.
    pub(crate) client: Client,
    /// 100-byte bodies, if run.
    pub(crate) small: Option<Outcome>,
    /// 1 MiB bodies, if run.
    pub(crate) large: Option<Outcome>,
}

impl Row {
    /// The outcome at `size`.
    fn get(&self, size: Size) -> Option<&Outcome> {
        match size {
            Size::Small => self.small.as_ref(),
            Size::Large => self.large.as_ref(),
        }
    }

    /// The measurement at `size`, if it succeeded.
    fn measured(&self, size: Size) -> Option<&Measurement> {
        self.get(size).and_then(|o| o.result.as_ref().ok())
    }

    /// The headline figure at `size`: requests/s (small) or MB/s (1 MiB).
    fn value(&self, size: Size) -> Option<f64> {
        self.measured(size).map(|m| match size {
            Size::Small => m.rate(),
            Size::Large => m.mb_per_s(),
        })
    }
}

/// One RSS run.
#[derive(Debug)]
pub(crate) struct RssRow {
    /// The reader.
    pub(crate) name: &'static str,
    /// What it measured, or why it failed.
    pub(crate) result: Result<RssResult, String>,
}

/// Everything one invocation measured.
#[derive(Debug)]
pub(crate) struct Report {
    /// Where.
    pub(crate) machine: Machine,
    /// `--pin`.
    pub(crate) pin: Option<usize>,
    /// How long each client ran.
    pub(crate) plan: Plan,
    /// How many times each client ran (the median run is reported).
    pub(crate) rounds: usize,
    /// `--quick`.
    pub(crate) quick: bool,
    /// The clients run.
    pub(crate) rows: Vec<Row>,
    /// The RSS runs.
    pub(crate) rss: Vec<RssRow>,
    /// The body length of the RSS runs.
    pub(crate) rss_bytes: u64,
}

impl Report {
    /// The row of the client named `name`.
    fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.client.name == name)
    }

    /// `row`'s figure over hyper's.
    fn ratio_to_hyper(&self, row: &Row, size: Size) -> Option<f64> {
        self.ratio_to(row, HYPER, size)
    }

    /// `row`'s figure over the raw client of its kind (pooled rows over
    /// the one raw pipelined connection).
    fn ratio_to_raw(&self, row: &Row, size: Size) -> Option<f64> {
        let raw = match row.client.kind {
            Kind::Pipelined | Kind::Pooled => RAW_PIPELINED,
            Kind::OneAtATime => RAW_ONE,
        };
        self.ratio_to(row, raw, size)
    }

    /// `row`'s figure over that of the row named `other`.
    fn ratio_to(&self, row: &Row, other: &str, size: Size) -> Option<f64> {
        Some(row.value(size)? / self.row(other)?.value(size)?)
    }

    /// The machine line.
    pub(crate) fn machine_line(&self) -> String {
        let m = &self.machine;
        let pin = match self.pin {
            Some(cpu) => format!("server, clients and runtime pinned to CPU {cpu}"),
            None => "unpinned".to_owned(),
        };
        format!(
            "Machine: {}, {} CPUs; {}; {}; {}; {:.2} s per client and size after a {:.2} s warm-up; {}.",
            m.cpu,
            m.nproc,
            m.rustc.as_deref().unwrap_or("rustc version unknown"),
            m.date,
            pin,
            self.plan.duration.as_secs_f64(),
            self.plan.warmup.as_secs_f64(),
            if self.rounds == 1 {
                "one run each".to_owned()
            } else {
                format!("the median of {} runs each, clients taking turns", self.rounds)
            },
        )
    }

    /// The markdown tables.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.machine_line());
        if !self.rows.is_empty() {
            self.throughput_table(&mut out);
            self.pool_table(&mut out);
            self.allocation_table(&mut out);
        }
        if !self.rss.is_empty() {
            self.rss_table(&mut out);
        }
        out
    }

    /// The throughput table and its footnote.
    fn throughput_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "| client | small req/s | ratio to hyper | ratio to raw | 1 MiB MB/s | ratio to hyper | ratio to raw |"
        );
        let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|");
        for row in &self.rows {
            let _ = write!(out, "| {} |", row.client.name);
            for size in Size::ALL {
                let value = match row.get(size) {
                    None => "—".to_owned(),
                    Some(Outcome { result: Err(_), .. }) => "error".to_owned(),
                    Some(_) => row.value(size).map_or("—".to_owned(), thousands),
                };
                let _ = write!(
                    out,
                    " {value} | {} | {} |",
                    ratio(self.ratio_to_hyper(row, size)),
                    ratio(self.ratio_to_raw(row, size))
                );
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(
            out,
            "\nRatio to raw: pipelined rows against `raw pipelined`, one-at-a-time rows \
             (hyper and ureq included) against `raw one-at-a-time`, pooled rows (`Client`, \
             hyper-util) against `raw pipelined` too, though they use several connections. \
             Pipelined clients keep up to {} (small) or {} (1 MiB) requests in flight; \
             dugong's fewer when its `max_in_flight_bytes` (512 KiB by default) says so, \
             which leaves one 1 MiB response in flight. `Client NxD` is dugong-blocking's pool \
             of N connections of depth D, fed from one thread with up to N×D requests pending \
             (N with 1 MiB bodies); `hyper-util pooled x4` runs 4 loops of one request at a \
             time on one pool. MB = 10^6 body bytes; one connection per client and size, \
             except the pooled rows.\n",
            Size::Small.depth(),
            Size::Large.depth(),
        );
    }

    /// The pooled rows against one pipelined connection and against
    /// hyper-util's pool (skipped when no pooled row ran).
    fn pool_table(&self, out: &mut String) {
        if !self.rows.iter().any(|r| r.client.kind == Kind::Pooled) {
            return;
        }
        let _ = writeln!(
            out,
            "| pooled client | small req/s | vs one pipelined connection | vs hyper-util pooled x4 | 1 MiB MB/s | vs one pipelined connection | vs hyper-util pooled x4 |"
        );
        let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|");
        for row in self.rows.iter().filter(|r| r.client.kind == Kind::Pooled) {
            let _ = write!(out, "| {} |", row.client.name);
            for size in Size::ALL {
                let _ = write!(
                    out,
                    " {} | {} | {} |",
                    row.value(size).map_or("—".to_owned(), thousands),
                    ratio(self.ratio_to(row, ONE_PIPELINED, size)),
                    ratio(self.ratio_to(row, HYPER_UTIL_POOLED, size)),
                );
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(
            out,
            "\nThe pooled rows against `{ONE_PIPELINED}` (one connection) and against \
             `{HYPER_UTIL_POOLED}` (as many connections as `{POOLED_4X16}`). The server serves \
             each connection on a thread of its own.\n"
        );
    }

    /// The allocations table and its footnote.
    fn allocation_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "| client | small allocs/req | small bytes/req | 1 MiB allocs/req | 1 MiB bytes/req |"
        );
        let _ = writeln!(out, "|---|--:|--:|--:|--:|");
        for row in &self.rows {
            let _ = write!(out, "| {} |", row.client.name);
            for size in Size::ALL {
                match row.measured(size) {
                    Some(m) => {
                        let mut allocs = per_response(m.allocs_per_response());
                        if m.reallocs_per_response() >= 0.005 {
                            let _ = write!(
                                allocs,
                                " (+{} realloc)",
                                per_response(m.reallocs_per_response())
                            );
                        }
                        let _ = write!(
                            out,
                            " {allocs} | {} |",
                            thousands(m.alloc_bytes_per_response())
                        );
                    }
                    None => {
                        let _ = write!(out, " — | — |");
                    }
                }
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(
            out,
            "\nHeap allocations of the whole process during the measured window, per \
             response (the server threads allocate nothing while serving: the raw rows \
             show it).\n"
        );
    }

    /// The RSS table and its footnote.
    fn rss_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "| body reader ({} body, 64 KiB reads) | RSS before | peak RSS (sampled) | growth | VmHWM growth | live heap growth | MB/s |",
            size_name(self.rss_bytes)
        );
        let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|");
        for row in &self.rss {
            let name = row.name.trim_start_matches("rss ");
            match &row.result {
                Ok(r) => {
                    let _ = writeln!(
                        out,
                        "| {name} | {} KiB | {} KiB | {} KiB | {} | {} B | {} |",
                        thousands(r.before_kib as f64),
                        thousands(r.peak_kib as f64),
                        thousands(r.growth_kib() as f64),
                        r.hwm_growth_kib
                            .map_or("—".to_owned(), |k| format!("{} KiB", thousands(k as f64))),
                        thousands(r.heap_growth as f64),
                        thousands(r.mb_per_s()),
                    );
                }
                Err(e) => {
                    let _ = writeln!(out, "| {name} | error: {e} | | | | | |");
                }
            }
        }
        let _ = writeln!(
            out,
            "\nEach reader in a fresh process with its own server thread. VmRSS sampled every \
             1,000 reads; VmHWM growth is the exact peak (reset through /proc/self/clear_refs \
             before the request); live heap growth is the largest sample of bytes allocated \
             and not freed. Target: growth < 1 MiB.\n"
        );
    }

    /// The JSON object.
    pub(crate) fn json(&self) -> String {
        let m = &self.machine;
        let mut out = String::from("{\n");
        let _ = writeln!(
            out,
            "  \"machine\": {{\"cpu\": {}, \"nproc\": {}, \"rustc\": {}, \"date\": {}}},",
            string(&m.cpu),
            m.nproc,
            m.rustc.as_deref().map_or("null".to_owned(), string),
            string(&m.date)
        );
        let _ = writeln!(
            out,
            "  \"pinned_cpu\": {},",
            self.pin.map_or("null".to_owned(), |c| c.to_string())
        );
        let _ = writeln!(out, "  \"quick\": {},", self.quick);
        let _ = writeln!(
            out,
            "  \"warmup_s\": {},\n  \"duration_s\": {},\n  \"rounds\": {},",
            number(self.plan.warmup.as_secs_f64()),
            number(self.plan.duration.as_secs_f64()),
            self.rounds
        );
        let _ = writeln!(
            out,
            "  \"depth\": {{\"small\": {}, \"1MiB\": {}}},",
            Size::Small.depth(),
            Size::Large.depth()
        );
        out.push_str("  \"clients\": [");
        for (i, row) in self.rows.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            let kind = match row.client.kind {
                Kind::Pipelined => "pipelined",
                Kind::Pooled => "pooled",
                Kind::OneAtATime => "one-at-a-time",
            };
            let _ = write!(
                out,
                "    {{\"name\": {}, \"kind\": \"{kind}\"",
                string(row.client.name)
            );
            for size in Size::ALL {
                let _ = write!(out, ", \"{}\": {}", size.label(), self.size_json(row, size));
            }
            out.push('}');
        }
        out.push_str("\n  ],\n");
        out.push_str("  \"rss\": ");
        if self.rss.is_empty() {
            out.push_str("null\n");
        } else {
            let _ = writeln!(
                out,
                "{{\"body_bytes\": {}, \"read_size\": {}, \"readers\": [",
                self.rss_bytes,
                crate::clients::BODY_BUF
            );
            for (i, row) in self.rss.iter().enumerate() {
                let sep = if i + 1 == self.rss.len() { "" } else { "," };
                let body = match &row.result {
                    Ok(r) => format!(
                        "\"ok\": true, \"reads\": {}, \"before_kib\": {}, \"peak_kib\": {}, \"growth_kib\": {}, \"hwm_growth_kib\": {}, \"heap_growth_bytes\": {}, \"elapsed_s\": {}, \"mb_per_s\": {}",
                        r.reads,
                        r.before_kib,
                        r.peak_kib,
                        r.growth_kib(),
                        r.hwm_growth_kib.map_or("null".to_owned(), |k| k.to_string()),
                        r.heap_growth,
                        number(r.elapsed.as_secs_f64()),
                        number(r.mb_per_s())
                    ),
                    Err(e) => format!("\"ok\": false, \"error\": {}", string(e)),
                };
                let _ = writeln!(
                    out,
                    "    {{\"name\": {}, {body}}}{sep}",
                    string(row.name.trim_start_matches("rss "))
                );
            }
            out.push_str("  ]}\n");
        }
        out.push('}');
        out
    }

    /// The JSON value of one client at one size.
    fn size_json(&self, row: &Row, size: Size) -> String {
        let Some(outcome) = row.get(size) else {
            return "null".to_owned();
        };
        let (connections, requests, head) = match &outcome.server {
            Some(rec) => (
                rec.connections.to_string(),
                rec.requests.to_string(),
                string(&String::from_utf8_lossy(&rec.first_head)),
            ),
            None => ("null".to_owned(), "null".to_owned(), "null".to_owned()),
        };
        match &outcome.result {
            Ok(m) => format!(
                "{{\"ok\": true, \"responses\": {}, \"elapsed_s\": {}, \"req_per_s\": {}, \"mb_per_s\": {}, \
                 \"allocations\": {}, \"reallocations\": {}, \
                 \"allocs_per_req\": {}, \"reallocs_per_req\": {}, \"alloc_bytes_per_req\": {}, \
                 \"ratio_to_hyper\": {}, \"ratio_to_raw\": {}, \
                 \"ratio_to_one_pipelined\": {}, \"ratio_to_hyper_util_pooled\": {}, \
                 \"total_responses\": {}, \"server_connections\": {connections}, \
                 \"server_requests\": {requests}, \"request_head\": {head}}}",
                m.responses,
                number(m.elapsed.as_secs_f64()),
                number(m.rate()),
                number(m.mb_per_s()),
                m.allocs.allocations,
                m.allocs.reallocations,
                number(m.allocs_per_response()),
                number(m.reallocs_per_response()),
                number(m.alloc_bytes_per_response()),
                self.ratio_to_hyper(row, size).map_or("null".to_owned(), number),
                self.ratio_to_raw(row, size).map_or("null".to_owned(), number),
                self.ratio_to(row, ONE_PIPELINED, size)
                    .map_or("null".to_owned(), number),
                self.ratio_to(row, HYPER_UTIL_POOLED, size)
                    .map_or("null".to_owned(), number),
                m.total_responses,
            ),
            Err(e) => format!(
                "{{\"ok\": false, \"error\": {}, \"server_connections\": {connections}, \"server_requests\": {requests}}}",
                string(e)
            ),
        }
    }
}

/// `1234567.8` as `1,234,568`.
pub(crate) fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    if value < -0.5 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A per-response count: two decimals, `<0.01` for a few in a whole run.
fn per_response(value: f64) -> String {
    if value > 0.0 && value < 0.005 {
        "<0.01".to_owned()
    } else {
        format!("{value:.2}")
    }
}

/// A ratio cell.
fn ratio(value: Option<f64>) -> String {
    value.map_or("—".to_owned(), |r| format!("{r:.2}"))
}

/// `1073741824` as `1 GiB`, `67108864` as `64 MiB`.
fn size_name(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes % (1 << 30) == 0 {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

/// A JSON number (`null` if not finite).
fn number(value: f64) -> String {
    if value.is_finite() {
        let s = format!("{value:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() || s == "-" {
            "0".to_owned()
        } else {
            s.to_owned()
        }
    } else {
        "null".to_owned()
    }
}

/// A JSON string.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::{number, string, thousands};

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(12.0), "12");
        assert_eq!(super::per_response(0.001), "<0.01");
        assert_eq!(super::per_response(0.0), "0.00");
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f64::NAN), "null");
        assert_eq!(string("a\"b\r\n"), "\"a\\\"b\\r\\n\"");
    }
}
