//! Reading response heads and trailer sections: the byte classes, the
//! resumable section scan and its one-pass fast path, status-line checks,
//! obs-fold unfolding, and the collection of the fields that decide framing
//! ([`Framing`], judged in `framing.rs`). The field-syntax helpers (OWS,
//! tokens, lists, quoted strings) are shared with `framing.rs`,
//! `chunked.rs` and `request.rs`.
//!
//! Everything here is a pure function of bytes; `recv.rs` decides when to
//! call what.

use crate::error::{Arrived, Error, InvalidResponse, Limit};
use crate::event::Version;

/// Byte classes, one table lookup each.
const TOKEN: u8 = 1;
/// VCHAR, obs-text, SP and HTAB: what a field value or reason phrase may hold.
const FIELD: u8 = 2;
/// Bytes allowed in a request target: visible ASCII.
pub(crate) const TARGET: u8 = 4;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b.is_ascii_alphanumeric() {
            c |= TOKEN;
        }
        if matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        ) {
            c |= TOKEN;
        }
        if b == b'\t' || b == b' ' || (b >= 0x21 && b != 0x7f) {
            c |= FIELD;
        }
        if b >= 0x21 && b <= 0x7e {
            c |= TARGET;
        }
        t[i] = c;
        i += 1;
    }
    t
};

pub(crate) fn all_in(bytes: &[u8], class: u8) -> bool {
    bytes.iter().all(|&b| CLASS[b as usize] & class != 0)
}

pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && all_in(bytes, TOKEN)
}

pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_ows(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The index of the first byte in `bytes` that may not appear in a field
/// value or reason phrase (a control byte other than HTAB, or DEL), if any.
///
/// Eight bytes at a time ([`non_field_flags`]); a tab, which a value may
/// hold, is skipped within its word ([`first_flagged`]).
#[inline(always)]
pub(crate) fn first_non_field(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let x = word_at(word, 0);
        let flags = non_field_flags(x);
        if flags != 0 {
            if let Some(i) = first_flagged(flags, x) {
                return Some(at + i);
            }
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| !is_field(b))
        .map(|i| at + i)
}

/// The eight bytes of `bytes` at `at`, as a little-endian word.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The high bit of each byte of `x` that is a control byte (below 0x20) or
/// DEL, and of no other: exact per byte, as no step carries from one byte
/// into the next. With `lo` a byte without its high bit, `(lo + 1) & 0x7f`
/// is below 0x21 exactly when `lo` is below 0x20 or is 0x7f, and adding
/// 0x5f sets the high bit exactly when it is not.
#[inline(always)]
fn non_field_flags(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = ONES * 0x7f;
    const HIGH: u64 = ONES * 0x80;
    let t = ((x & LOW7) + ONES) & LOW7;
    !((t + ONES * 0x5f) | x) & HIGH
}

/// The first byte flagged in `flags` (of the word `x`) that is not HTAB,
/// which a field value may hold.
#[inline(always)]
fn first_flagged(mut flags: u64, x: u64) -> Option<usize> {
    while flags != 0 {
        let i = (flags.trailing_zeros() / 8) as usize;
        if (x >> (i * 8)) as u8 != b'\t' {
            return Some(i);
        }
        flags &= flags - 1;
    }
    None
}

/// True if `b` may appear in a field value.
#[inline]
fn is_field(b: u8) -> bool {
    CLASS[b as usize] & FIELD != 0
}

/// What a [`SectionScan`] is scanning.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Section {
    /// A status line and header fields.
    Head,
    /// Trailer fields.
    Trailers,
}

/// A validated status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusLine {
    pub(crate) version: Version,
    pub(crate) status: u16,
    /// The reason phrase's range within the head.
    pub(crate) reason: (usize, usize),
}

/// Where a [`SectionScan`] is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// At the first byte of a line.
    LineStart,
    /// Within a field name.
    Name,
    /// Within a field value; `fold` is the start of the obs-fold line being
    /// read, if this is one.
    Value { colon: usize, fold: Option<usize> },
}

/// A field line read to its end, whose framing role is decided once the
/// next line shows it is not continued by an obs-fold.
#[derive(Debug, Clone, Copy)]
struct Pending {
    start: usize,
    colon: usize,
    /// The CR ending the field (after any obs-fold).
    cr: usize,
}

/// Incremental, single-pass reader of a response head or a trailer section:
/// finds its end and validates every line on the way (status line, field
/// names and values, CRLF line endings, the byte and field limits), and
/// collects the fields that decide framing. It resumes where it stopped, so
/// a head that arrives byte by byte is read once (O(n)), and the result
/// does not depend on how the bytes were split. Replaces each obs-fold with
/// spaces (RFC 9112 §5.2).
#[derive(Debug, Clone)]
pub(crate) struct SectionScan {
    /// The next byte to look at.
    pos: usize,
    line_start: usize,
    /// Where the first field line starts (after the status line).
    first_field: usize,
    phase: Phase,
    fields: usize,
    status: Option<StatusLine>,
    pending: Option<Pending>,
    framing: FramingScan,
}

impl Default for SectionScan {
    fn default() -> Self {
        SectionScan {
            pos: 0,
            line_start: 0,
            first_field: 0,
            phase: Phase::LineStart,
            fields: 0,
            status: None,
            pending: None,
            framing: FramingScan::default(),
        }
    }
}

/// A complete section, as read by [`SectionScan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// The section's length, including the empty line that ends it.
    pub(crate) len: usize,
    /// Where the first field line starts.
    pub(crate) first_field: usize,
    /// The number of fields (obs-fold continuations not counted).
    pub(crate) fields: usize,
    /// The status line (`Section::Head` only).
    pub(crate) status: Option<StatusLine>,
    /// The framing fields (`Section::Head` only).
    pub(crate) framing: Framing,
}

impl SectionScan {
    /// True before the first byte was looked at.
    pub(crate) fn is_fresh(&self) -> bool {
        self.pos == 0
    }

    /// Reads on from where the last call stopped, up to the empty line that
    /// ends the section at the start of `buf`. Returns `None` if more bytes
    /// are needed. `base` is the stream offset of `buf[0]`.
    pub(crate) fn scan(
        &mut self,
        buf: &mut [u8],
        section: Section,
        max_bytes: usize,
        max_fields: usize,
        base: u64,
    ) -> Result<Option<Scanned>, Error> {
        // A head seen whole at the first look (the usual case) is read in
        // one pass; anything else line by line, resumably. Either way each
        // byte is read at most twice.
        if matches!(section, Section::Head) && self.pos == 0 {
            let end = buf.len().min(max_bytes);
            if let Some(scanned) = scan_whole_head(&buf[..end], max_fields) {
                return Ok(Some(scanned));
            }
        }
        self.scan_by_line(buf, section, max_bytes, max_fields, base)
    }

    /// [`scan`](Self::scan) without the one-pass attempt.
    fn scan_by_line(
        &mut self,
        buf: &mut [u8],
        section: Section,
        max_bytes: usize,
        max_fields: usize,
        base: u64,
    ) -> Result<Option<Scanned>, Error> {
        let err = |kind, at: usize| Err(Error::invalid(kind, base + at as u64));
        let end = buf.len().min(max_bytes);
        let full = buf.len() >= max_bytes;
        let need_more = || {
            if full {
                Err(Error::TooLarge(match section {
                    Section::Head => Limit::HeadBytes(max_bytes),
                    Section::Trailers => Limit::TrailerBytes(max_bytes),
                }))
            } else {
                Ok(None)
            }
        };
        if matches!(section, Section::Head) && self.status.is_none() {
            let Some(i) = memchr::memchr(b'\n', &buf[self.pos..end]) else {
                // Every byte so far must be able to start a status line: a
                // peer that does not speak HTTP is told at once, not after
                // the head limit or a timeout. A CR at the end may be the
                // line's end.
                let seen = if buf[..end].last() == Some(&b'\r') {
                    end - 1
                } else {
                    end
                };
                check_status_line(&buf[..seen], self.pos)
                    .map_err(|(kind, at)| Error::invalid(kind, base + at as u64))?;
                self.pos = seen;
                return need_more();
            };
            let lf = self.pos + i;
            self.status = Some(parse_status_line(&buf[..lf], base)?);
            self.line_start = lf + 1;
            self.first_field = lf + 1;
            self.pos = lf + 1;
            self.phase = Phase::LineStart;
        }
        // The state lives in locals while reading, and is saved when the
        // bytes run out.
        let mut pos = self.pos;
        let mut line_start = self.line_start;
        let mut phase = self.phase;
        let mut fields = self.fields;
        let mut pending = self.pending;
        macro_rules! suspend {
            ($pos:expr) => {{
                self.pos = $pos;
                self.line_start = line_start;
                self.phase = phase;
                self.fields = fields;
                self.pending = pending;
                return need_more();
            }};
        }
        loop {
            if phase == Phase::LineStart {
                let Some(&first) = buf[..end].get(pos) else {
                    suspend!(pos)
                };
                if CLASS[first as usize] & TOKEN != 0 {
                    if let Some(field) = pending.take() {
                        self.note(buf, field, section);
                    }
                    fields += 1;
                    if fields > max_fields {
                        return Err(Error::TooLarge(Limit::Headers(max_fields)));
                    }
                    phase = Phase::Name;
                } else if first == b'\r' {
                    let Some(&next) = buf[..end].get(pos + 1) else {
                        suspend!(pos)
                    };
                    if next != b'\n' {
                        return err(InvalidResponse::HeaderName, pos);
                    }
                    if let Some(field) = pending.take() {
                        self.note(buf, field, section);
                    }
                    return Ok(Some(Scanned {
                        len: pos + 2,
                        first_field: self.first_field,
                        fields,
                        status: self.status,
                        framing: self.framing.finish(),
                    }));
                } else if is_ows(first) {
                    // obs-fold: this line continues the last field.
                    let Some(field) = pending.take() else {
                        return err(InvalidResponse::LeadingWhitespace, pos);
                    };
                    phase = Phase::Value {
                        colon: field.colon,
                        fold: Some(pos),
                    };
                    line_start = field.start;
                } else if first == b'\n' {
                    return err(InvalidResponse::BareLf, pos);
                } else {
                    return err(InvalidResponse::HeaderName, pos);
                }
            }
            if phase == Phase::Name {
                let Some(n) = buf[pos..end]
                    .iter()
                    .position(|&b| CLASS[b as usize] & TOKEN == 0)
                else {
                    suspend!(end)
                };
                pos += n;
                match buf[pos] {
                    b':' if pos > line_start => {
                        phase = Phase::Value {
                            colon: pos,
                            fold: None,
                        };
                        pos += 1;
                    }
                    b'\n' => return err(InvalidResponse::BareLf, pos),
                    _ => return err(InvalidResponse::HeaderName, pos),
                }
            }
            if let Phase::Value { colon, fold } = phase {
                let Some(i) = first_non_field(&buf[pos..end]) else {
                    suspend!(end)
                };
                pos += i;
                match buf[pos] {
                    b'\r' => {
                        let Some(&next) = buf[..end].get(pos + 1) else {
                            suspend!(pos)
                        };
                        if next != b'\n' {
                            return err(InvalidResponse::HeaderValue, pos);
                        }
                        if let Some(fold_start) = fold {
                            unfold(buf, fold_start, pos);
                        }
                        pending = Some(Pending {
                            start: line_start,
                            colon,
                            cr: pos,
                        });
                        pos += 2;
                        line_start = pos;
                        phase = Phase::LineStart;
                    }
                    b'\n' => return err(InvalidResponse::BareLf, pos),
                    _ => return err(InvalidResponse::HeaderValue, pos),
                }
            }
        }
    }

    /// Notes a complete field in the framing facts.
    #[inline]
    fn note(&mut self, buf: &[u8], field: Pending, section: Section) {
        if matches!(section, Section::Head) && FramingScan::may_matter(field.colon - field.start) {
            let name = &buf[field.start..field.colon];
            self.framing.field(name, &buf[field.colon + 1..field.cr]);
        }
    }
}

/// Reads a whole response head in one pass when all of it is in `buf` and
/// nothing in it is unusual; `None` otherwise (more bytes needed, an
/// obs-fold, or anything invalid), for [`SectionScan::scan`] to read it
/// line by line and name the error and its place. Whatever this accepts,
/// that scan accepts with the same result.
#[inline]
fn scan_whole_head(buf: &[u8], max_fields: usize) -> Option<Scanned> {
    // "HTTP/1.x NNN", then " reason" or nothing, then CRLF.
    let prefix: &[u8; 12] = buf.get(..12)?.try_into().ok()?;
    let [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor, b' ', a, b, c] = *prefix else {
        return None;
    };
    let digits = [minor, a, b, c];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let status = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    if status < 100 {
        return None;
    }
    let cr = 12 + first_non_field(&buf[12..])?;
    let reason = match (cr, buf[12]) {
        (12, _) => (12, 12),
        (_, b' ') => (13, cr),
        _ => return None,
    };
    if buf[cr] != b'\r' || *buf.get(cr + 1)? != b'\n' {
        return None;
    }
    let version = if minor == b'0' {
        Version::Http10
    } else {
        Version::Http11
    };
    let first_field = cr + 2;
    let mut pos = first_field;
    let mut fields = 0;
    let mut framing = FramingScan::default();
    loop {
        let first = *buf.get(pos)?;
        if CLASS[first as usize] & TOKEN == 0 {
            if first != b'\r' || *buf.get(pos + 1)? != b'\n' {
                return None;
            }
            return Some(Scanned {
                len: pos + 2,
                first_field,
                fields,
                status: Some(StatusLine {
                    version,
                    status,
                    reason,
                }),
                framing: framing.finish(),
            });
        }
        let start = pos;
        pos += 1 + buf[pos + 1..]
            .iter()
            .position(|&b| CLASS[b as usize] & TOKEN == 0)?;
        if buf[pos] != b':' {
            return None;
        }
        let colon = pos;
        let cr = colon + 1 + first_non_field(&buf[colon + 1..])?;
        // The next line must be there, and not continue this one.
        if buf[cr] != b'\r' || *buf.get(cr + 1)? != b'\n' || is_ows(*buf.get(cr + 2)?) {
            return None;
        }
        fields += 1;
        if fields > max_fields {
            return None;
        }
        if FramingScan::may_matter(colon - start) {
            framing.field(&buf[start..colon], &buf[colon + 1..cr]);
        }
        pos = cr + 2;
    }
}

/// Replaces the obs-fold before the line at `fold_start` (the whitespace
/// ending the line before, its CRLF, and the whitespace starting this one)
/// with one SP (RFC 9112 §5.2), in place: the rest of the line, up to its
/// CR at `cr`, moves back to follow that SP, and the bytes it leaves free
/// before the CR become spaces, which a field value's trailing whitespace
/// is trimmed of anyway.
fn unfold(buf: &mut [u8], fold_start: usize, cr: usize) {
    let rws = buf[fold_start..cr]
        .iter()
        .take_while(|&&b| is_ows(b))
        .count();
    // `fold_start - 2` is the CR ending the line before.
    let before = buf[..fold_start - 2]
        .iter()
        .rev()
        .take_while(|&&b| is_ows(b))
        .count();
    let gap = fold_start - 2 - before;
    let text = fold_start + rws;
    buf[gap] = b' ';
    buf.copy_within(text..cr, gap + 1);
    buf[gap + 1 + (cr - text)..cr].fill(b' ');
}

/// Checks the bytes of a status line seen so far (without its line
/// ending), byte by byte in order, and names the first one that cannot be
/// part of a status line, with the offset (within the line) of the element
/// it spoils. `from` is how far an earlier call checked the reason phrase
/// (the fixed 13 bytes before it are checked again: they are few).
///
/// `HTTP/1.` DIGIT SP, a three-digit code from 100 to 999, then SP and a
/// reason phrase, or nothing. A whole line and the same line checked in
/// pieces give the same answer.
fn check_status_line(line: &[u8], from: usize) -> Result<(), (InvalidResponse, usize)> {
    const PREFIX: &[u8; 8] = b"HTTP/1.0";
    for (i, &b) in line.iter().take(13).enumerate() {
        let ok = match i {
            0..=6 => b == PREFIX[i],
            7 | 10 | 11 => b.is_ascii_digit(),
            8 | 12 => b == b' ',
            // A status code below 100 is not one.
            _ => (b'1'..=b'9').contains(&b),
        };
        if !ok {
            return Err(match i {
                0 if (0x14..=0x17).contains(&b) => (InvalidResponse::Tls, 0),
                0..=4 => (InvalidResponse::NotHttp(Arrived::new(&line[..=i])), 0),
                5..=8 => (InvalidResponse::Version, 0),
                12 => (InvalidResponse::Status, 12),
                _ => (InvalidResponse::Status, 9),
            });
        }
    }
    let reason = line.get(from.max(13)..).unwrap_or_default();
    if first_non_field(reason).is_some() {
        return Err((InvalidResponse::StatusLineCharacter, 13));
    }
    Ok(())
}

/// Parses a status line: `line` is everything before its LF.
fn parse_status_line(line: &[u8], base: u64) -> Result<StatusLine, Error> {
    let err = |kind, at: usize| Err(Error::invalid(kind, base + at as u64));
    let (text, bare_lf) = match line.split_last() {
        Some((b'\r', text)) => (text, false),
        _ => (line, true),
    };
    if let Err((kind, at)) = check_status_line(text, 13) {
        return err(kind, at);
    }
    if bare_lf {
        return err(InvalidResponse::BareLf, line.len());
    }
    // The line ended early: every byte so far fitted.
    match text.len() {
        0..=4 => {
            return err(
                InvalidResponse::NotHttp(Arrived::new(&line[..text.len() + 1])),
                0,
            )
        }
        5..=8 => return err(InvalidResponse::Version, 0),
        9..=11 => return err(InvalidResponse::Status, 9),
        _ => {}
    }
    let digit = |i: usize| u16::from(text[i] - b'0');
    Ok(StatusLine {
        version: if text[7] == b'0' {
            Version::Http10
        } else {
            Version::Http11
        },
        status: digit(9) * 100 + digit(10) * 10 + digit(11),
        reason: if text.len() > 12 {
            (13, text.len())
        } else {
            (12, 12)
        },
    })
}

/// How a response's `Transfer-Encoding` fields read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransferEncoding {
    /// No such field.
    Absent,
    /// Exactly the chunked coding.
    Chunked,
    /// Another or an extra coding.
    Unsupported,
    /// Malformed: not a list of codings, empty, parameters on chunked, or
    /// chunked applied twice (RFC 9112 §7).
    Invalid,
}

/// The fields that decide framing and connection reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Framing {
    /// `Ok(None)` without a field; `Err` when malformed or conflicting.
    pub(crate) content_length: Result<Option<u64>, InvalidResponse>,
    pub(crate) transfer_encoding: TransferEncoding,
    pub(crate) close: bool,
    pub(crate) keep_alive: bool,
}

/// The framing fields seen so far.
#[derive(Debug, Clone, Copy)]
struct FramingScan {
    content_length: Result<Option<u64>, InvalidResponse>,
    te_seen: bool,
    te_malformed: bool,
    te_elements: usize,
    chunked: usize,
    other_coding: bool,
    close: bool,
    keep_alive: bool,
}

impl Default for FramingScan {
    fn default() -> Self {
        FramingScan {
            content_length: Ok(None),
            te_seen: false,
            te_malformed: false,
            te_elements: 0,
            chunked: 0,
            other_coding: false,
            close: false,
            keep_alive: false,
        }
    }
}

impl FramingScan {
    /// False if a field name of this length cannot be one that
    /// [`field`](Self::field) looks at.
    #[inline(always)]
    fn may_matter(name_len: usize) -> bool {
        matches!(name_len, 10 | 14 | 17)
    }

    /// Takes one header field into account (`value` untrimmed). What is
    /// rarer than a `Content-Length` of one number is handled out of line.
    #[inline(never)]
    fn field(&mut self, name: &[u8], value: &[u8]) {
        // Compared by length first: most fields are none of these.
        match name.len() {
            14 if token_eq(name, b"content-length") => {
                self.content_length = match (self.content_length, one_number(value)) {
                    (Ok(None), Some(n)) => Ok(Some(n)),
                    (Ok(Some(prev)), Some(n)) if prev == n => Ok(Some(n)),
                    (prev, _) => prev.and_then(|prev| merge_length(prev, value)),
                };
            }
            17 if token_eq(name, b"transfer-encoding") => self.transfer_encoding(value),
            10 if token_eq(name, b"connection") => self.connection(value),
            _ => {}
        }
    }

    #[inline(never)]
    fn transfer_encoding(&mut self, value: &[u8]) {
        self.te_seen = true;
        if self.transfer_codings(value).is_none() {
            self.te_malformed = true;
        }
    }

    #[inline(never)]
    fn connection(&mut self, value: &[u8]) {
        // Usually one token; a list otherwise.
        let only = trim_ows(value);
        if token_eq(only, b"keep-alive") {
            self.keep_alive = true;
            return;
        }
        if token_eq(only, b"close") {
            self.close = true;
            return;
        }
        for token in list(value) {
            self.close |= token_eq(token, b"close");
            self.keep_alive |= token_eq(token, b"keep-alive");
        }
    }

    /// Reads one `Transfer-Encoding` field value, a list of transfer
    /// codings (RFC 9110 §10.1.4, §5.6.1: empty elements are allowed):
    /// `token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) )`.
    /// `None` if it is malformed, or puts parameters on `chunked`
    /// (RFC 9112 §7.1 defines none).
    fn transfer_codings(&mut self, value: &[u8]) -> Option<()> {
        let mut rest = skip_ows(value);
        loop {
            if let Some(after) = skip_token(rest) {
                let coding = &rest[..rest.len() - after.len()];
                rest = after;
                self.te_elements += 1;
                let chunked = token_eq(coding, b"chunked");
                if chunked {
                    self.chunked += 1;
                } else {
                    self.other_coding = true;
                }
                while let Some((&b';', after)) = skip_ows(rest).split_first() {
                    if chunked {
                        return None;
                    }
                    let after = skip_ows(skip_token(skip_ows(after))?);
                    let (&b'=', param) = after.split_first()? else {
                        return None;
                    };
                    let param = skip_ows(param);
                    rest = if param.first() == Some(&b'"') {
                        skip_quoted(param)?
                    } else {
                        skip_token(param)?
                    };
                }
            }
            match skip_ows(rest).split_first() {
                None => return Some(()),
                Some((&b',', after)) => rest = skip_ows(after),
                Some(_) => return None,
            }
        }
    }

    fn finish(&self) -> Framing {
        let transfer_encoding = if !self.te_seen {
            TransferEncoding::Absent
        } else if self.te_malformed || self.te_elements == 0 || self.chunked > 1 {
            TransferEncoding::Invalid
        } else if self.other_coding {
            TransferEncoding::Unsupported
        } else {
            TransferEncoding::Chunked
        };
        Framing {
            content_length: self.content_length,
            transfer_encoding,
            close: self.close,
            keep_alive: self.keep_alive,
        }
    }
}

/// The non-empty elements of a comma-separated list, without OWS.
pub(crate) fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// True if `name` (a token, or a field value: no control byte but HTAB)
/// equals `lower` (lowercase letters, digits and `-`) ignoring ASCII case.
/// Setting bit 0x20 lowercases a letter and leaves digits and `-` as they
/// are; no other such byte becomes one of those.
///
/// Eight bytes at a time when there are at least eight.
#[inline]
fn token_eq(name: &[u8], lower: &[u8]) -> bool {
    const CASE: u64 = 0x2020_2020_2020_2020;
    if name.len() != lower.len() {
        return false;
    }
    let n = name.len();
    if n < 8 {
        return name.iter().zip(lower).all(|(&a, &b)| a | 0x20 == b);
    }
    let word = |bytes: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let mut at = 0;
    while at + 8 < n {
        if word(name, at) | CASE != word(lower, at) {
            return false;
        }
        at += 8;
    }
    // The last word, overlapping the one before.
    word(name, n - 8) | CASE == word(lower, n - 8)
}

/// The usual `Content-Length` value: one number of 1 to 19 digits (which
/// cannot overflow) with optional whitespace around it; `None` for anything
/// else, which [`merge_length`] then reads or rejects.
#[inline(always)]
fn one_number(value: &[u8]) -> Option<u64> {
    let mut digits = value;
    while let [b' ' | b'\t', rest @ ..] = digits {
        digits = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = digits {
        digits = rest;
    }
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &d in digits {
        let v = d.wrapping_sub(b'0');
        if v >= 10 {
            return None;
        }
        n = n * 10 + u64::from(v);
    }
    Some(n)
}

/// Folds one `Content-Length` field value (untrimmed) into what was read
/// before: every element must be digits only, and all must agree.
#[cold]
#[inline(never)]
fn merge_length(prev: Option<u64>, value: &[u8]) -> Result<Option<u64>, InvalidResponse> {
    let mut current = prev;
    for element in value.split(|&b| b == b',').map(trim_ows) {
        if element.is_empty() || !element.iter().all(u8::is_ascii_digit) {
            return Err(InvalidResponse::ContentLength);
        }
        let n = element.iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        });
        let n = n.ok_or(InvalidResponse::ContentLength)?;
        match current {
            Some(c) if c != n => return Err(InvalidResponse::ConflictingContentLength),
            _ => current = Some(n),
        }
    }
    Ok(current)
}

pub(crate) fn skip_ows(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|&&b| is_ows(b)).count();
    &bytes[n..]
}

/// Skips a non-empty token; `None` if there is none.
pub(crate) fn skip_token(bytes: &[u8]) -> Option<&[u8]> {
    let n = bytes
        .iter()
        .take_while(|&&b| CLASS[b as usize] & TOKEN != 0)
        .count();
    (n > 0).then(|| &bytes[n..])
}

/// Skips a quoted-string starting at `bytes[0] == b'"'`.
pub(crate) fn skip_quoted(bytes: &[u8]) -> Option<&[u8]> {
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some(&bytes[i + 1..]),
            b'\\' => {
                let escaped = *bytes.get(i + 1)?;
                if CLASS[escaped as usize] & FIELD == 0 {
                    return None;
                }
                i += 2;
            }
            b if CLASS[b as usize] & FIELD != 0 => i += 1,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// The line-by-line reading of a whole buffer, as the resumable scan
    /// does it when the one-pass attempt gives up.
    fn by_line(head: &[u8], max_fields: usize) -> Result<Option<Scanned>, Error> {
        let mut buf = head.to_vec();
        SectionScan::default().scan_by_line(&mut buf, Section::Head, 1 << 20, max_fields, 0)
    }

    /// Heads that the one-pass reader must take itself, with the same
    /// result as the line-by-line scan.
    #[test]
    fn usual_heads_are_read_in_one_pass() {
        let heads: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 200\r\n\r\n",
            b"HTTP/1.1 204 \r\n\r\n",
            b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n",
            b"HTTP/1.9 599 \xe9t\xe9\r\nA: \t b\tc \r\nContent-Length: 007\r\n\r\n",
            b"HTTP/1.1 600 OK\r\n\r\n",
            b"HTTP/1.1 999 \r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nX-Empty:\r\nX_Odd!~: \x80\xff\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nrest",
        ];
        for head in heads {
            let fast = scan_whole_head(head, 100);
            assert!(fast.is_some(), "{}", head.escape_ascii());
            assert_eq!(by_line(head, 100), Ok(fast), "{}", head.escape_ascii());
        }
    }

    /// Heads the one-pass reader leaves to the line-by-line scan: more
    /// bytes needed, an obs-fold, anything invalid, too many fields.
    #[test]
    fn unusual_heads_are_left_to_the_scan_by_line() {
        let heads: &[(&[u8], usize)] = &[
            (b"", 10),
            (b"HTTP/1.1 200 OK\r\n", 10),
            (b"HTTP/1.1 200 OK\r\nA: b\r\n", 10),
            (b"HTTP/1.1 200 OK\r\nA: b\r\n\r", 10),
            (b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", 10),
            (b"HTTP/1.1 200 OK\r\n b: c\r\n\r\n", 10),
            (b"HTTP/1.1 200 OK\nA: b\r\n\r\n", 10),
            (b"HTTP/1.1 200 OK\r\nA: b\n\r\n", 10),
            (b"HTTP/1.1 200 OK\r\nA: b\r\n\n", 10),
            (b"HTTP/1.1 200 OK\r\nA: b\rx\r\n\r\n", 10),
            (b"HTTP/1.1 200 OK\r\nA: \x7f\r\n\r\n", 10),
            (b"HTTP/1.1 200 OK\r\nA: \x00\r\n\r\n", 10),
            (b"HTTP/1.1 200 OK\r\nA b: c\r\n\r\n", 10),
            (b"HTTP/1.1 200 OK\r\n: c\r\n\r\n", 10),
            (b"HTTP/1.1 200 OK\r\nA(: c\r\n\r\n", 10),
            (b"HTTP/1.1 200 O\x01K\r\n\r\n", 10),
            (b"HTTP/1.1 2000 OK\r\n\r\n", 10),
            (b"HTTP/1.1 099 OK\r\n\r\n", 10),
            (b"HTTP/2.0 200 OK\r\n\r\n", 10),
            (b"HTTP/1.x 200 OK\r\n\r\n", 10),
            (b"http/1.1 200 OK\r\n\r\n", 10),
            (b"HTTP/1.1  200 OK\r\n\r\n", 10),
            (b"HTTP/1.1 200 OK\r\nA: b\r\nC: d\r\n\r\n", 1),
        ];
        for &(head, max_fields) in heads {
            assert_eq!(
                scan_whole_head(head, max_fields),
                None,
                "{}",
                head.escape_ascii()
            );
        }
    }

    /// Bytes that heads are made of, the delimiters often.
    fn head_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            4 => prop::sample::select(&b"\r\n :\t-aZ09,"[..]),
            1 => any::<u8>(),
        ]
    }

    const STATUS_LINES: &[&[u8]] = &[b"HTTP/1.1 200 OK", b"HTTP/1.0 304", b"HTTP/1.1 101 "];

    /// A plausible head, then up to 3 bytes overwritten anywhere.
    fn mutated_head() -> impl Strategy<Value = Vec<u8>> {
        let line = prop_oneof![
            Just(b"Content-Length: 12".to_vec()),
            Just(b"Transfer-Encoding: chunked".to_vec()),
            Just(b"connection: close, Keep-Alive".to_vec()),
            Just(b"Server: nginx/1.27.3".to_vec()),
            prop::collection::vec(head_byte(), 0..24),
        ];
        (
            prop::sample::select(STATUS_LINES),
            prop::collection::vec(line, 0..6),
            prop::collection::vec((any::<prop::sample::Index>(), head_byte()), 0..4),
        )
            .prop_map(|(status, lines, edits)| {
                let mut head = status.to_vec();
                head.extend_from_slice(b"\r\n");
                for line in lines {
                    head.extend_from_slice(&line);
                    head.extend_from_slice(b"\r\n");
                }
                head.extend_from_slice(b"\r\n");
                for (at, byte) in edits {
                    let i = at.index(head.len());
                    head[i] = byte;
                }
                head
            })
    }

    /// The one-number fast path of `Content-Length` reads exactly what the
    /// general reading reads as one number, and leaves lists, signs,
    /// empty values and 20-digit numbers to it.
    #[test]
    fn content_length_fast_path_agrees_with_the_general_reading() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b" 100", Some(100)),
            (b"\t42 \t", Some(42)),
            (b"9999999999999999999", Some(9_999_999_999_999_999_999)),
            (b"18446744073709551615", None),
            (b"", None),
            (b"  ", None),
            (b"1,1", None),
            (b"+1", None),
            (b"1 2", None),
            (b"0x10", None),
        ];
        for &(value, expected) in cases {
            assert_eq!(one_number(value), expected, "{}", value.escape_ascii());
            if let Some(n) = expected {
                assert_eq!(merge_length(None, value), Ok(Some(n)));
            }
        }
        assert_eq!(merge_length(None, b"1,1"), Ok(Some(1)));
        assert_eq!(
            merge_length(None, b"18446744073709551615"),
            Ok(Some(u64::MAX))
        );
        assert_eq!(
            merge_length(Some(2), b" 1"),
            Err(InvalidResponse::ConflictingContentLength)
        );
    }

    /// `first_non_field` against a byte-by-byte reference: every byte
    /// value at every place of every length up to 40 (each path: the
    /// 16-byte steps, the 8-byte step, the tail), behind allowed bytes of
    /// every kind, and after a tab in the same word.
    #[test]
    fn first_non_field_finds_exactly_the_first_byte_a_value_may_not_hold() {
        let reference = |bytes: &[u8]| bytes.iter().position(|&b| !is_field(b));
        for len in 1..40 {
            for at in 0..len {
                for filler in [b'a', b'\t', b' ', 0x80, 0xff, b'~'] {
                    for byte in 0..=255u8 {
                        let mut bytes = vec![filler; len];
                        bytes[at] = byte;
                        assert_eq!(first_non_field(&bytes), reference(&bytes), "{bytes:?}");
                        if at > 0 {
                            bytes[at - 1] = b'\t';
                            assert_eq!(first_non_field(&bytes), reference(&bytes), "{bytes:?}");
                        }
                    }
                }
            }
        }
    }

    proptest! {
        /// Whatever the one-pass reader accepts, the line-by-line scan
        /// accepts with the same length, fields, status line and framing;
        /// and the one-pass reader accepts every head that scan accepts,
        /// unless it has an obs-fold.
        #[test]
        fn one_pass_agrees_with_the_scan_by_line(head in mutated_head(), max_fields in 0usize..8) {
            let fast = scan_whole_head(&head, max_fields);
            let slow = by_line(&head, max_fields);
            if fast.is_some() {
                prop_assert_eq!(slow, Ok(fast));
            } else if let Ok(Some(scanned)) = slow {
                let folded = head[..scanned.len]
                    .windows(2)
                    .any(|w| w[0] == b'\n' && is_ows(w[1]));
                prop_assert!(folded, "not read in one pass: {}", head.escape_ascii());
            }
        }
    }
}
