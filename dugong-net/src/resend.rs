//! Which unanswered requests may be sent again after their connection
//! died, and how often: the decisions a retrying client makes, in one place
//! for every driver, without I/O, clock or random source (the caller passes
//! the time it waited and a random number in).
//!
//! The core tells each unanswered request's [`Fate`]; [`judge`] turns it
//! into a [`Verdict`] by the rules of RFC 9110 §9.2.2 and RFC 9112 §9.6: a
//! request the server cannot have processed is always resent; one it may
//! have processed only if its method is idempotent (or the caller said the
//! request is, e.g. with an `Idempotency-Key`); one whose response had
//! started never; and none whose body cannot be produced again. A
//! [`RetryBudget`] (the token bucket of gRPC's retry throttling) keeps a
//! client from hammering a failing server, and [`Backoff`] spaces the
//! attempts.
//!
//! ```
//! use dugong_net::resend::{judge, Backoff, RetryBudget, Verdict};
//! use dugong_net::dugong_proto::Fate;
//! use std::time::Duration;
//!
//! // A pipelined GET that got no answer may be resent; a POST may not.
//! assert_eq!(judge(Fate::MaybeProcessed, "GET", false, true), Verdict::Resend);
//! assert_eq!(
//!     judge(Fate::MaybeProcessed, "POST", false, true),
//!     Verdict::MayHaveBeenProcessed
//! );
//! // Not processed (RFC 9112 §9.6): resent whatever the method.
//! assert_eq!(judge(Fate::NotProcessed, "POST", false, true), Verdict::Resend);
//!
//! let mut budget = RetryBudget::default();
//! assert!(budget.may_retry());
//! budget.on_retry();
//!
//! let backoff = Backoff::default();
//! let wait = backoff.delay(1, 0.5);
//! assert!(wait <= backoff.max);
//! assert_eq!(backoff.delay(0, 0.0), Duration::ZERO);
//! ```

use std::time::Duration;

use dugong_proto::Fate;

/// The methods RFC 9110 §9.2.2 defines as idempotent: sending one twice has
/// the effect of sending it once.
pub const IDEMPOTENT_METHODS: [&str; 6] = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"];

/// How many times one request is sent again at most, by default.
pub const DEFAULT_RESENDS_PER_REQUEST: u32 = 2;

/// Whether `method` is idempotent by RFC 9110 §9.2.2. Methods are
/// case-sensitive (RFC 9110 §9.1): `get` is not `GET`.
pub fn is_idempotent(method: &str) -> bool {
    IDEMPOTENT_METHODS.contains(&method)
}

/// What may be done with one unanswered request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// Send it again on another connection.
    Resend,
    /// No: its response had started arriving, so the server processed it
    /// (a resend would do it twice, and the caller may hold part of the
    /// response).
    ResponseStarted,
    /// No: it was written and not answered, so the server may have acted
    /// on it, and its method is not idempotent (nor was the request marked
    /// so).
    MayHaveBeenProcessed,
    /// No: its body was streamed and cannot be produced again.
    BodyNotReplayable,
}

impl Verdict {
    /// True for [`Verdict::Resend`].
    pub fn is_resend(self) -> bool {
        self == Verdict::Resend
    }
}

impl core::fmt::Display for Verdict {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Verdict::Resend => "may be resent",
            Verdict::ResponseStarted => "not resent: its response had started",
            Verdict::MayHaveBeenProcessed => {
                "not resent: it may have been processed and is not idempotent"
            }
            Verdict::BodyNotReplayable => "not resent: its body cannot be sent again",
        })
    }
}

/// Judges one unanswered request of a connection that died: its `fate`
/// (from the core), its `method`, whether the caller `marked_idempotent` it
/// (a non-idempotent method made safe to repeat, e.g. by an
/// `Idempotency-Key`), and whether its body is `replayable` (empty or held
/// whole; a streamed body is not).
pub fn judge(fate: Fate, method: &str, marked_idempotent: bool, replayable: bool) -> Verdict {
    match fate {
        Fate::BodyIncomplete => Verdict::ResponseStarted,
        _ if !replayable => Verdict::BodyNotReplayable,
        Fate::NotProcessed => Verdict::Resend,
        Fate::MaybeProcessed if marked_idempotent || is_idempotent(method) => Verdict::Resend,
        // A fate added later is judged as the unsafe one.
        _ => Verdict::MayHaveBeenProcessed,
    }
}

/// A client-wide retry budget: a token bucket as in gRPC's retry
/// throttling. Every retry takes a token, every success gives back a
/// fraction of one; retries are allowed while more than half the bucket is
/// left. So a server that keeps failing sees retries stop soon, while one
/// failure among many successes is always retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryBudget {
    /// Tokens in thousandths.
    milli: u32,
    max_milli: u32,
    refill_milli: u32,
}

impl RetryBudget {
    /// A full bucket of `max_tokens` tokens (at least 1), refilled by
    /// `refill_per_success_milli` thousandths of a token per success.
    pub fn new(max_tokens: u32, refill_per_success_milli: u32) -> RetryBudget {
        let max_milli = max_tokens.max(1).saturating_mul(1000);
        RetryBudget {
            milli: max_milli,
            max_milli,
            refill_milli: refill_per_success_milli,
        }
    }

    /// True while a retry is allowed: more than half the bucket is left.
    pub fn may_retry(&self) -> bool {
        self.milli > self.max_milli / 2
    }

    /// Takes one token for a retry (or a failed attempt).
    pub fn on_retry(&mut self) {
        self.milli = self.milli.saturating_sub(1000);
    }

    /// Gives back the refill for a successful request.
    pub fn on_success(&mut self) {
        self.milli = self
            .milli
            .saturating_add(self.refill_milli)
            .min(self.max_milli);
    }

    /// The tokens left, in thousandths.
    pub fn tokens_milli(&self) -> u32 {
        self.milli
    }
}

impl Default for RetryBudget {
    /// 10 tokens, a tenth of a token back per success (gRPC's example
    /// values): from a full bucket, 5 retries in a row are allowed, then
    /// about one per 10 successes.
    fn default() -> RetryBudget {
        RetryBudget::new(10, 100)
    }
}

/// Exponential backoff with full jitter: before retry `n` (counted from 1)
/// wait a random time between 0 and `min(max, base × 2^(n-1))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The cap of the first retry's wait.
    pub base: Duration,
    /// The cap of any wait.
    pub max: Duration,
}

impl Backoff {
    /// The wait before retry `attempt` (1 for the first retry; 0 means no
    /// wait), given `unit`, a random number in `[0, 1)` from the caller's
    /// source (values outside are clamped; NaN counts as 0).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        if attempt == 0 {
            return Duration::ZERO;
        }
        let doublings = (attempt - 1).min(31);
        let cap = self
            .base
            .checked_mul(1u32 << doublings)
            .map_or(self.max, |d| d.min(self.max));
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        cap.mul_f64(unit)
    }
}

impl Default for Backoff {
    /// 50 ms for the first retry, never more than 2 s.
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_millis(50),
            max: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FATES: [Fate; 3] = [
        Fate::BodyIncomplete,
        Fate::MaybeProcessed,
        Fate::NotProcessed,
    ];

    #[test]
    fn idempotent_methods_are_rfc_9110s() {
        for m in ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"] {
            assert!(is_idempotent(m), "{m}");
        }
        for m in ["POST", "PATCH", "CONNECT", "get", "Put", "", "PROPFIND"] {
            assert!(!is_idempotent(m), "{m}");
        }
    }

    #[test]
    fn judge_table() {
        use Verdict::*;
        // (fate, method, marked idempotent, replayable, verdict)
        let table = [
            (Fate::NotProcessed, "POST", false, true, Resend),
            (Fate::NotProcessed, "GET", false, true, Resend),
            (Fate::NotProcessed, "POST", false, false, BodyNotReplayable),
            (Fate::MaybeProcessed, "GET", false, true, Resend),
            (Fate::MaybeProcessed, "PUT", false, true, Resend),
            (Fate::MaybeProcessed, "DELETE", false, true, Resend),
            (
                Fate::MaybeProcessed,
                "POST",
                false,
                true,
                MayHaveBeenProcessed,
            ),
            (
                Fate::MaybeProcessed,
                "PATCH",
                false,
                true,
                MayHaveBeenProcessed,
            ),
            (Fate::MaybeProcessed, "POST", true, true, Resend),
            (Fate::MaybeProcessed, "PUT", false, false, BodyNotReplayable),
            (Fate::BodyIncomplete, "GET", false, true, ResponseStarted),
            (Fate::BodyIncomplete, "POST", true, true, ResponseStarted),
            (Fate::BodyIncomplete, "GET", false, false, ResponseStarted),
        ];
        for (fate, method, marked, replayable, want) in table {
            assert_eq!(
                judge(fate, method, marked, replayable),
                want,
                "{fate:?} {method} marked={marked} replayable={replayable}"
            );
        }
    }

    #[test]
    fn judge_never_resends_what_it_must_not() {
        for fate in FATES {
            for method in ["GET", "POST", "PUT", "PATCH", "x"] {
                for marked in [false, true] {
                    for replayable in [false, true] {
                        let verdict = judge(fate, method, marked, replayable);
                        if verdict.is_resend() {
                            assert!(replayable);
                            assert_ne!(fate, Fate::BodyIncomplete);
                            assert!(fate == Fate::NotProcessed || marked || is_idempotent(method));
                        }
                        assert!(!verdict.to_string().is_empty());
                    }
                }
            }
        }
    }

    #[test]
    fn budget_stops_retries_against_a_failing_server_and_refills() {
        let mut budget = RetryBudget::default();
        let mut allowed = 0;
        while budget.may_retry() {
            budget.on_retry();
            allowed += 1;
            assert!(allowed <= 10);
        }
        assert_eq!(allowed, 5);
        assert_eq!(budget.tokens_milli(), 5_000);
        // A success lifts it over half again: one more retry, and then it
        // takes ten successes for the next.
        budget.on_success();
        assert!(budget.may_retry());
        budget.on_retry();
        for _ in 0..9 {
            budget.on_success();
            assert!(!budget.may_retry());
        }
        budget.on_success();
        assert!(budget.may_retry());
        for _ in 0..1000 {
            budget.on_success();
        }
        assert_eq!(budget.tokens_milli(), 10_000);
        let mut empty = RetryBudget::new(0, 0);
        assert!(empty.may_retry());
        empty.on_retry();
        assert!(!empty.may_retry());
        empty.on_retry();
        assert_eq!(empty.tokens_milli(), 0);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let b = Backoff::default();
        assert_eq!(b.delay(0, 0.9), Duration::ZERO);
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(50));
        assert_eq!(b.delay(2, 1.0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 0.5), Duration::from_millis(100));
        assert_eq!(b.delay(10, 1.0), Duration::from_secs(2));
        assert_eq!(b.delay(u32::MAX, 1.0), Duration::from_secs(2));
        assert_eq!(b.delay(5, 0.0), Duration::ZERO);
        assert_eq!(b.delay(5, -3.0), Duration::ZERO);
        assert_eq!(b.delay(5, f64::NAN), Duration::ZERO);
        assert_eq!(b.delay(1, 7.0), Duration::from_millis(50));
        let huge = Backoff {
            base: Duration::from_secs(u64::MAX / 4),
            max: Duration::from_secs(60),
        };
        assert_eq!(huge.delay(40, 1.0), Duration::from_secs(60));
    }
}
