//! The measured window of one client run: a warm-up, then a fixed
//! duration over which responses, body bytes, time and heap allocations
//! are counted.

use std::time::{Duration, Instant};

use stats_alloc::Stats;

use crate::GLOBAL;

/// How long each client runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Run before the window opens (connections warmed, buffers grown).
    pub(crate) warmup: Duration,
    /// The measured window.
    pub(crate) duration: Duration,
}

/// What one client run measured.
#[derive(Debug, Clone)]
pub(crate) struct Measurement {
    /// Responses completed inside the window.
    pub(crate) responses: u64,
    /// Body bytes read inside the window.
    pub(crate) body_bytes: u64,
    /// The window's exact length.
    pub(crate) elapsed: Duration,
    /// Heap activity of the whole process inside the window.
    pub(crate) allocs: Stats,
    /// Responses completed in the whole run (warm-up and draining too),
    /// to compare with the server's count.
    pub(crate) total_responses: u64,
}

impl Measurement {
    /// Responses per second.
    pub(crate) fn rate(&self) -> f64 {
        self.responses as f64 / self.elapsed.as_secs_f64()
    }

    /// Body megabytes (10^6 bytes) per second.
    pub(crate) fn mb_per_s(&self) -> f64 {
        self.body_bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }

    /// Allocations per response.
    pub(crate) fn allocs_per_response(&self) -> f64 {
        self.allocs.allocations as f64 / self.responses.max(1) as f64
    }

    /// Reallocations per response.
    pub(crate) fn reallocs_per_response(&self) -> f64 {
        self.allocs.reallocations as f64 / self.responses.max(1) as f64
    }

    /// Bytes allocated per response.
    pub(crate) fn alloc_bytes_per_response(&self) -> f64 {
        self.allocs.bytes_allocated as f64 / self.responses.max(1) as f64
    }
}

/// Where the window opened.
#[derive(Debug, Clone, Copy)]
struct Mark {
    /// When.
    at: Instant,
    /// The allocator's counters then.
    stats: Stats,
    /// Responses completed before.
    count: u64,
    /// Body bytes read before.
    bytes: u64,
}

/// Counts the responses of one client run and decides when it ends.
///
/// A client calls [`record`](Self::record) after each complete response;
/// once it returns false the window is closed and the client only drains
/// what it has in flight (still calling `record`, which then only counts).
#[derive(Debug)]
pub(crate) struct Window {
    /// The window opens at the first check after this.
    warm_until: Instant,
    /// Its length.
    duration: Duration,
    /// The clock is read when `count & mask == 0`.
    mask: u64,
    /// The body length every response must have.
    expected: u64,
    /// Responses so far.
    count: u64,
    /// Body bytes so far.
    bytes: u64,
    /// Responses whose body had another length.
    wrong_length: u64,
    /// Set when the window opened.
    start: Option<Mark>,
    /// Set when it closed.
    result: Option<Measurement>,
}

impl Window {
    /// A window for a run under `plan`, reading the clock every `mask + 1`
    /// responses, expecting `expected`-byte bodies.
    pub(crate) fn new(plan: Plan, mask: u64, expected: u64) -> Window {
        Window {
            warm_until: Instant::now() + plan.warmup,
            duration: plan.duration,
            mask,
            expected,
            count: 0,
            bytes: 0,
            wrong_length: 0,
            start: None,
            result: None,
        }
    }

    /// Counts one complete response with a `body`-byte body. False once
    /// the window is closed: stop sending, drain, then [`finish`](Self::finish).
    #[inline]
    pub(crate) fn record(&mut self, body: u64) -> bool {
        self.count += 1;
        self.bytes += body;
        if body != self.expected {
            self.wrong_length += 1;
        }
        if self.result.is_some() {
            return false;
        }
        if self.count & self.mask != 0 {
            return true;
        }
        self.check()
    }

    /// Reads the clock: opens or closes the window.
    fn check(&mut self) -> bool {
        let now = Instant::now();
        match self.start {
            None => {
                if now >= self.warm_until {
                    self.start = Some(Mark {
                        at: now,
                        stats: GLOBAL.stats(),
                        count: self.count,
                        bytes: self.bytes,
                    });
                }
                true
            }
            Some(start) => {
                if now.duration_since(start.at) < self.duration {
                    return true;
                }
                self.result = Some(Measurement {
                    responses: self.count - start.count,
                    body_bytes: self.bytes - start.bytes,
                    elapsed: now.duration_since(start.at),
                    allocs: GLOBAL.stats() - start.stats,
                    total_responses: 0,
                });
                false
            }
        }
    }

    /// The measurement, once the client drained everything.
    ///
    /// # Errors
    ///
    /// A body of the wrong length, or a run that ended before its window
    /// closed.
    pub(crate) fn finish(self) -> Result<Measurement, crate::BoxError> {
        if self.wrong_length > 0 {
            return Err(format!(
                "{} of {} bodies did not have the expected {} bytes",
                self.wrong_length, self.count, self.expected
            )
            .into());
        }
        let mut result = self
            .result
            .ok_or("the run ended before its measured window closed")?;
        result.total_responses = self.count;
        Ok(result)
    }
}
