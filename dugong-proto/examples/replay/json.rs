//! The JSON text of the `replay` trace: strings in pure ASCII, and fields as
//! arrays of name/value pairs. The crate's tests include this file too, so
//! they check the escaping rule on text the core never produces.

use std::fmt::Write as _;

use dugong_proto::Headers;

/// Appends `text` as a JSON string of pure ASCII: `"` and `\` escaped with a
/// backslash, printable ASCII (U+0020 to U+007E) as is, and every other
/// character as `\uXXXX` in lowercase hex (a UTF-16 surrogate pair, two
/// escapes, above U+FFFF).
pub(crate) fn json_str(out: &mut String, text: impl IntoIterator<Item = char>) {
    out.push('"');
    for c in text {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    // Writing to a `String` cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Appends bytes as a JSON string, each byte the code point U+0000 to
/// U+00FF (latin-1): a byte outside printable ASCII becomes `\u00XX`.
pub(crate) fn json_latin1(out: &mut String, bytes: &[u8]) {
    json_str(out, bytes.iter().map(|&b| char::from(b)));
}

/// Appends fields as `[["name","value"],...]`, names and values as
/// [`json_latin1`].
pub(crate) fn json_fields(out: &mut String, fields: &Headers) {
    out.push('[');
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        json_latin1(out, name.as_bytes());
        out.push(',');
        json_latin1(out, value);
        out.push(']');
    }
    out.push(']');
}
