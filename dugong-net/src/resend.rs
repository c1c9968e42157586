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
    /// No: it never reached the server, but the error is not one that
    /// another try can mend (a host that does not exist, a TLS failure, a
    /// mistake in the request).
    NotTemporary,
    /// No: it was sent again as often as the per-request limit allows.
    LimitReached,
    /// No: the client's [`RetryBudget`] is spent (the server fails too
    /// often).
    BudgetSpent,
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
            Verdict::NotTemporary => "not resent: the error is not temporary",
            Verdict::LimitReached => "not resent: sent again as often as allowed",
            Verdict::BudgetSpent => "not resent: the retry budget is spent",
        })
    }
}

/// Judges one unanswered request of a connection that died: its `fate`
/// (from the core), its `method`, whether the caller `marked_idempotent` it
/// (a non-idempotent method made safe to repeat, e.g. by an
/// `Idempotency-Key`), and whether its body is `replayable` (empty or held
/// whole; a streamed body is not).
pub fn judge(fate: Fate, method: &str, marked_idempotent: bool, replayable: bool) -> Verdict {
    judge_repeatable(fate, marked_idempotent || is_idempotent(method), replayable)
}

/// [`judge`], given whether the request may be repeated (its method is
/// idempotent, or it is marked so).
fn judge_repeatable(fate: Fate, repeatable: bool, replayable: bool) -> Verdict {
    match fate {
        Fate::BodyIncomplete => Verdict::ResponseStarted,
        _ if !replayable => Verdict::BodyNotReplayable,
        Fate::NotProcessed => Verdict::Resend,
        Fate::MaybeProcessed if repeatable => Verdict::Resend,
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

/// The header field by which a caller marks a non-idempotent request as
/// safe to repeat (the IETF httpapi draft's `Idempotency-Key`): the server
/// recognises a repeat by its key.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// True if `name` is [`IDEMPOTENCY_KEY`] (compared as field names are,
/// ignoring ASCII case).
pub fn marks_idempotent(name: &str) -> bool {
    name.eq_ignore_ascii_case(IDEMPOTENCY_KEY)
}

/// What became of one try of a request when its connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lost {
    /// It never reached a connection: connecting failed, or the connection
    /// was already dead when the request was to be queued on it.
    NotSent,
    /// It was queued on the connection; the core tells its [`Fate`].
    Fate(Fate),
    /// Its response had begun to arrive ([`Closed::response_started`]).
    ///
    /// [`Closed::response_started`]: dugong_proto::Closed::response_started
    ResponseStarted,
}

impl Lost {
    /// The fate of request `id` among the requests a dead connection left
    /// unanswered (from [`dugong_proto::Connection::unanswered`] or the
    /// error's [`Closed`](dugong_proto::Closed)); [`Lost::NotSent`] if it
    /// is not among them (it was never queued).
    pub fn of(id: dugong_proto::RequestId, closed: &dugong_proto::Closed) -> Lost {
        if closed.response_started() == Some(id) {
            return Lost::ResponseStarted;
        }
        closed
            .unanswered()
            .iter()
            .find(|u| u.id == id)
            .map_or(Lost::NotSent, |u| Lost::Fate(u.fate))
    }
}

impl core::fmt::Display for Lost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Lost::NotSent => f.write_str("not sent"),
            Lost::Fate(fate) => fate.fmt(f),
            Lost::ResponseStarted => f.write_str("response started"),
        }
    }
}

/// One failed try of a request, for the [`Account`].
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The connection it was tried on (the pool's number for it), if it got
    /// one.
    pub connection: Option<u64>,
    /// Why the try ended: the error of the connection (or of connecting).
    pub error: crate::Error,
    /// What became of the request.
    pub lost: Lost,
    /// What was decided.
    pub verdict: Verdict,
}

/// Every failed try of one request, oldest first: what a resending client
/// reports when it gives up ([`crate::Error::GaveUp`]).
#[derive(Debug, Clone, Default)]
pub struct Account {
    attempts: Vec<Attempt>,
}

impl Account {
    /// The failed tries, oldest first.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// How often the request was sent again.
    pub fn resends(&self) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.verdict.is_resend())
            .count()
    }
}

impl core::fmt::Display for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} tr{}",
            self.attempts.len(),
            if self.attempts.len() == 1 { "y" } else { "ies" }
        )?;
        for (i, a) in self.attempts.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            match a.connection {
                Some(c) => write!(f, "connection {c}: ")?,
                None => f.write_str("connecting: ")?,
            }
            write!(f, "{} ({}), {}", a.error, a.lost, a.verdict)?;
        }
        Ok(())
    }
}

/// What to do after a failed try.
#[derive(Debug, Clone)]
pub enum Next {
    /// Send the request again, after waiting this long.
    Resend(Duration),
    /// Give up: the error for the caller ([`crate::Error::GaveUp`], naming
    /// every try).
    GiveUp(crate::Error),
}

/// The resend decisions for one request, try after try: the request's
/// [`judge`]ment, the per-request limit, the client's [`RetryBudget`] and
/// the [`Backoff`], with the [`Account`] of every try.
///
/// A try that was [not processed](Fate::NotProcessed) (or not even queued
/// because the connection had just closed) on a connection that had
/// answered other requests (a server closing a connection it announced
/// or timed out: the normal end of a keep-alive connection) is resent at
/// once and counts against neither limit, since the server never saw it
/// and the pool made progress. Every other resend counts against the
/// per-request limit, and waits for the backoff (at once after a close);
/// it draws on the client's budget only when the connection answered
/// nothing before it failed (or never opened): the budget guards against
/// a server that fails everything, not against connections that end.
///
/// ```
/// use dugong_net::dugong_proto::Fate;
/// use dugong_net::resend::{Lost, Next, RetryBudget, Tracker};
/// use dugong_net::{Error, ErrorKind};
///
/// let mut budget = RetryBudget::default();
/// let mut post = Tracker::new("POST", false, true, 2);
/// let timeout = Error::TimedOut(dugong_net::Phase::Reading);
/// // Written, then no answer: a POST may have been processed.
/// match post.failed(Some(1), timeout, Lost::Fate(Fate::MaybeProcessed), false, &mut budget, 0.5) {
///     Next::GiveUp(error) => assert_eq!(error.kind(), ErrorKind::TimedOut),
///     Next::Resend(_) => unreachable!(),
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Tracker {
    /// Its method is idempotent, or it is marked so.
    repeatable: bool,
    replayable: bool,
    limit: u32,
    counted: u32,
    backoff: Backoff,
    account: Account,
    /// Part of a body that is not replayable was produced: no try can
    /// follow, whatever became of the request.
    body_started: bool,
}

impl Tracker {
    /// The decisions for a request with this `method`, `marked_idempotent`
    /// or not (see [`judge`]), with a `replayable` body or not, sent again
    /// at most `limit` counted times ([`DEFAULT_RESENDS_PER_REQUEST`]).
    pub fn new(method: &str, marked_idempotent: bool, replayable: bool, limit: u32) -> Tracker {
        Tracker {
            repeatable: marked_idempotent || is_idempotent(method),
            replayable,
            limit,
            counted: 0,
            backoff: Backoff::default(),
            account: Account::default(),
            body_started: false,
        }
    }

    /// The caller began to produce the request's body from a source that
    /// cannot produce it again (a stream): from now on no failure is tried
    /// again, not even one that left the request unsent.
    pub fn body_started(&mut self) {
        if !self.replayable {
            self.body_started = true;
        }
    }

    /// The same with another backoff.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Tracker {
        self.backoff = backoff;
        self
    }

    /// A try failed on `connection` (`None`: while connecting) with
    /// `error`, the request `lost` so; `progress`: the connection answered
    /// at least one request before it failed. `unit` is a random number in
    /// `[0, 1)` for the backoff's jitter. Takes a token from `budget` for a
    /// counted resend after a connection that made no progress.
    pub fn failed(
        &mut self,
        connection: Option<u64>,
        error: crate::Error,
        lost: Lost,
        progress: bool,
        budget: &mut RetryBudget,
        unit: f64,
    ) -> Next {
        let verdict = match lost {
            Lost::NotSent if self.body_started => Verdict::BodyNotReplayable,
            Lost::NotSent if error.is_temporary() => Verdict::Resend,
            Lost::NotSent => Verdict::NotTemporary,
            Lost::ResponseStarted => Verdict::ResponseStarted,
            Lost::Fate(fate) => judge_repeatable(fate, self.repeatable, self.replayable),
        };
        // Provably never processed, on a connection that answered others
        // (so each such resend follows progress, and they cannot loop).
        let never_seen = lost == Lost::Fate(Fate::NotProcessed)
            || (lost == Lost::NotSent && error.kind() == crate::ErrorKind::Closed);
        let free = progress && never_seen;
        // The budget guards a server that fails everything: a connection
        // that answered others before it died is not that.
        let budgeted = !free && !progress;
        let verdict = match verdict {
            Verdict::Resend if !free && self.counted >= self.limit => Verdict::LimitReached,
            Verdict::Resend if budgeted && !budget.may_retry() => Verdict::BudgetSpent,
            other => other,
        };
        let closed = error.closed().is_some();
        self.account.attempts.push(Attempt {
            connection,
            error: error.clone(),
            lost,
            verdict,
        });
        if !verdict.is_resend() {
            return Next::GiveUp(crate::Error::GaveUp(Box::new(GaveUp {
                last: error,
                account: std::mem::take(&mut self.account),
            })));
        }
        if free {
            return Next::Resend(Duration::ZERO);
        }
        self.counted += 1;
        if budgeted {
            budget.on_retry();
        }
        let wait = if closed {
            Duration::ZERO
        } else {
            self.backoff.delay(self.counted, unit)
        };
        Next::Resend(wait)
    }

    /// How often the request was sent again so far.
    pub fn resends(&self) -> usize {
        self.account.resends()
    }

    /// The tries so far.
    pub fn account(&self) -> &Account {
        &self.account
    }
}

/// The error of a request a resending client gave up on: the last try's
/// error and the [`Account`] of every try.
#[derive(Debug, Clone)]
pub struct GaveUp {
    /// The last try's error: [`crate::Error::kind`] and
    /// [`closed`](crate::Error::closed) answer for it.
    pub last: crate::Error,
    /// Every try, oldest first.
    pub account: Account,
}

impl core::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (after {})", self.last, self.account)
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

    fn refused() -> crate::Error {
        crate::Error::Connect {
            addr: "127.0.0.1:1".into(),
            source: std::sync::Arc::new(std::io::ErrorKind::ConnectionRefused.into()),
        }
    }

    fn not_found() -> crate::Error {
        crate::Error::HostNotFound {
            host: "x.invalid".into(),
        }
    }

    fn timed_out() -> crate::Error {
        crate::Error::TimedOut(crate::Phase::Reading)
    }

    fn closed() -> crate::Error {
        crate::Error::closed_while_sending()
    }

    /// What `Tracker::failed` decides, try after try, as (verdict, wait
    /// in ms or None for giving up).
    fn run(
        tracker: &mut Tracker,
        budget: &mut RetryBudget,
        tries: &[(crate::Error, Lost, bool)],
    ) -> Vec<(Verdict, Option<u64>)> {
        tries
            .iter()
            .map(|(error, lost, progress)| {
                let next = tracker.failed(Some(7), error.clone(), *lost, *progress, budget, 1.0);
                match next {
                    Next::Resend(wait) => {
                        let verdict = tracker.account().attempts().last().map(|a| a.verdict);
                        (
                            verdict.expect("the try is in the account"),
                            Some(wait.as_millis() as u64),
                        )
                    }
                    Next::GiveUp(e) => {
                        assert_eq!(e.kind(), error.kind());
                        let Error::GaveUp(g) = e else {
                            panic!("not GaveUp: {e}")
                        };
                        (g.account.attempts().last().expect("tries").verdict, None)
                    }
                }
            })
            .collect()
    }

    use crate::Error;
    use Verdict::*;

    #[test]
    fn tracker_decides_try_after_try() {
        let nope = Lost::NotSent;
        let maybe = Lost::Fate(Fate::MaybeProcessed);
        let not = Lost::Fate(Fate::NotProcessed);
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            Tracker,
            Vec<(Error, Lost, bool)>,
            Vec<(Verdict, Option<u64>)>,
        )> = vec![
            (
                "connect refused: backoff, then the limit",
                Tracker::new("POST", false, true, 2),
                vec![
                    (refused(), nope, false),
                    (refused(), nope, false),
                    (refused(), nope, false),
                ],
                vec![
                    (Resend, Some(50)),
                    (Resend, Some(100)),
                    (LimitReached, None),
                ],
            ),
            (
                "host not found: at once",
                Tracker::new("GET", false, true, 2),
                vec![(not_found(), nope, false)],
                vec![(NotTemporary, None)],
            ),
            (
                "a GET unanswered after a close: resent at once, counted",
                Tracker::new("GET", false, true, 1),
                vec![(closed(), maybe, true), (closed(), maybe, true)],
                vec![(Resend, Some(0)), (LimitReached, None)],
            ),
            (
                "a GET timed out: backoff",
                Tracker::new("GET", false, true, 2),
                vec![(timed_out(), maybe, false)],
                vec![(Resend, Some(50))],
            ),
            (
                "a POST that may have been processed: never",
                Tracker::new("POST", false, true, 2),
                vec![(closed(), maybe, true)],
                vec![(MayHaveBeenProcessed, None)],
            ),
            (
                "a POST with an Idempotency-Key: resent",
                Tracker::new("POST", true, true, 2),
                vec![(closed(), maybe, true)],
                vec![(Resend, Some(0))],
            ),
            (
                "not processed on a connection that made progress: free",
                Tracker::new("POST", false, true, 1),
                vec![
                    (closed(), not, true),
                    (closed(), not, true),
                    (closed(), not, true),
                ],
                vec![(Resend, Some(0)), (Resend, Some(0)), (Resend, Some(0))],
            ),
            (
                "not processed without progress: counted",
                Tracker::new("POST", false, true, 1),
                vec![(closed(), not, false), (closed(), not, false)],
                vec![(Resend, Some(0)), (LimitReached, None)],
            ),
            (
                "not processed, streamed body: never",
                Tracker::new("POST", false, false, 2),
                vec![(closed(), not, true)],
                vec![(BodyNotReplayable, None)],
            ),
            (
                "response started: never",
                Tracker::new("GET", false, true, 2),
                vec![(closed(), Lost::ResponseStarted, true)],
                vec![(ResponseStarted, None)],
            ),
        ];
        for (what, mut tracker, tries, expected) in cases {
            let mut budget = RetryBudget::default();
            assert_eq!(run(&mut tracker, &mut budget, &tries), expected, "{what}");
        }
    }

    #[test]
    fn tracker_stops_when_the_budget_is_spent_and_free_resends_cost_nothing() {
        let mut budget = RetryBudget::new(2, 0);
        let mut a = Tracker::new("GET", false, true, 5);
        let maybe = Lost::Fate(Fate::MaybeProcessed);
        let not = Lost::Fate(Fate::NotProcessed);
        let tries = [
            // Free: not processed, after progress.
            (closed(), not, true),
            // Counted, but after progress: no token.
            (closed(), maybe, true),
            // No progress: a token each, until half the bucket is gone.
            (closed(), maybe, false),
            (closed(), maybe, false),
        ];
        assert_eq!(
            run(&mut a, &mut budget, &tries),
            [
                (Resend, Some(0)),
                (Resend, Some(0)),
                (Resend, Some(0)),
                (BudgetSpent, None)
            ]
        );
        assert_eq!(budget.tokens_milli(), 1000);
        // Connect failures draw on it too.
        let mut b = Tracker::new("GET", false, true, 5);
        assert_eq!(
            run(&mut b, &mut budget, &[(refused(), Lost::NotSent, false)]),
            [(BudgetSpent, None)]
        );
    }

    #[test]
    fn gave_up_names_every_try() {
        let mut budget = RetryBudget::default();
        let mut t = Tracker::new("GET", false, true, 1);
        assert!(matches!(
            t.failed(None, refused(), Lost::NotSent, false, &mut budget, 0.0),
            Next::Resend(_)
        ));
        let Next::GiveUp(error) = t.failed(
            Some(3),
            timed_out(),
            Lost::Fate(Fate::MaybeProcessed),
            false,
            &mut budget,
            0.0,
        ) else {
            panic!("expected to give up")
        };
        assert_eq!(error.kind(), crate::ErrorKind::TimedOut);
        assert!(error.is_temporary());
        let text = error.to_string();
        assert!(
            text.starts_with(
                "timed out while reading (after 2 tries: connecting: could not connect"
            ),
            "{text}"
        );
        assert!(text.contains("connection 3: timed out while reading (no response, may have been processed), not resent: sent again as often as allowed"), "{text}");
        let Error::GaveUp(g) = error else {
            unreachable!()
        };
        assert_eq!(g.account.resends(), 1);
        assert_eq!(g.account.attempts().len(), 2);
    }

    #[test]
    fn lost_of_finds_the_request() {
        use dugong_proto::{Body, Connection};
        let mut conn = Connection::default();
        let a = conn
            .send_request("GET", "/a", [("Host", "h")], Body::Empty)
            .unwrap();
        let first = conn.transmit_len() as usize;
        let b = conn
            .send_request("GET", "/b", [("Host", "h")], Body::Empty)
            .unwrap();
        conn.consume_transmit(first);
        conn.receive(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap();
        let lost = conn.unanswered();
        assert_eq!(Lost::of(a, &lost), Lost::ResponseStarted);
        assert_eq!(Lost::of(b, &lost), Lost::Fate(Fate::NotProcessed));
        // A request of another connection is not among them.
        let mut other = Connection::default();
        let ids: Vec<_> = (0..3)
            .map(|_| {
                other
                    .send_request("GET", "/", [("Host", "h")], Body::Empty)
                    .unwrap()
            })
            .collect();
        assert_eq!(Lost::of(ids[2], &lost), Lost::NotSent);
    }

    #[test]
    fn idempotency_key_marks() {
        assert!(marks_idempotent("idempotency-key"));
        assert!(marks_idempotent("Idempotency-Key"));
        assert!(!marks_idempotent("Idempotency"));
    }

    #[test]
    fn a_started_stream_is_never_tried_again() {
        let mut budget = RetryBudget::default();
        let mut t = Tracker::new("PUT", false, false, 2);
        // Before the body is produced: connecting may be tried again.
        assert!(matches!(
            t.failed(None, refused(), Lost::NotSent, false, &mut budget, 0.0),
            Next::Resend(_)
        ));
        t.body_started();
        let Next::GiveUp(Error::GaveUp(g)) =
            t.failed(Some(1), closed(), Lost::NotSent, true, &mut budget, 0.0)
        else {
            panic!("a streamed body already produced is not sent again")
        };
        assert_eq!(
            g.account.attempts().last().map(|a| a.verdict),
            Some(BodyNotReplayable)
        );
        // A replayable body is not affected.
        let mut whole = Tracker::new("PUT", false, true, 2);
        whole.body_started();
        assert!(matches!(
            whole.failed(Some(1), closed(), Lost::NotSent, true, &mut budget, 0.0),
            Next::Resend(_)
        ));
    }
}
