//! What the real web servers must answer, shared by the blocking and tokio
//! tests: a deterministic set of static files ([`Site`]), the pipelined
//! requests made for them and the response each must get ([`Exchange`]),
//! and each server's real answer to a `100-continue` upload ([`Upload`]).
//! Each adapter's test only drives its connection through these.

use std::fmt;
use std::path::PathBuf;

use crate::Nginx;

/// The sizes of the [`Site`]'s files: empty, one byte, 1 KiB, one byte
/// past 64 KiB (a common buffer size) and 3 MiB.
pub const SITE_SIZES: [usize; 5] = [0, 1, 1024, 64 * 1024 + 1, 3 * 1024 * 1024];

/// The size of the body of the uploads that a server takes: one byte past
/// 64 KiB.
const UPLOAD_SIZE: usize = 64 * 1024 + 1;

/// The byte at offset `i` of the site file of `size` bytes: not periodic
/// in any small power of two, and different between files, so a misplaced
/// block or a body from the wrong file shows.
pub fn site_byte(size: usize, i: usize) -> u8 {
    let mixed = (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (i % 251) as u8;
    mixed.wrapping_add(size as u8)
}

/// The whole content of the site file of `size` bytes.
pub fn site_content(size: usize) -> Vec<u8> {
    (0..size).map(|i| site_byte(size, i)).collect()
}

/// The file name of the site file of `size` bytes: `size-<size>.bin`.
pub fn site_file_name(size: usize) -> String {
    format!("size-{size}.bin")
}

/// The static files every real web server serves in these tests: one per
/// size of [`SITE_SIZES`], named by [`site_file_name`], with
/// [`site_content`].
#[derive(Debug, Clone)]
pub struct Site {
    files: Vec<(usize, String, Vec<u8>)>,
}

impl Default for Site {
    fn default() -> Site {
        Site::new()
    }
}

impl Site {
    /// Generates the files (about 3 MiB in memory).
    pub fn new() -> Site {
        let files = SITE_SIZES
            .iter()
            .map(|&size| (size, site_file_name(size), site_content(size)))
            .collect();
        Site { files }
    }

    /// The files as a server's `start` takes them (relative path, content).
    pub fn files(&self) -> Vec<(&str, &[u8])> {
        self.files
            .iter()
            .map(|(_, name, content)| (name.as_str(), content.as_slice()))
            .collect()
    }

    /// The content of the file of `size` bytes.
    ///
    /// # Panics
    ///
    /// When `size` is not one of [`SITE_SIZES`].
    pub fn content(&self, size: usize) -> &[u8] {
        self.files
            .iter()
            .find(|(s, _, _)| *s == size)
            .map(|(_, _, content)| content.as_slice())
            .unwrap_or_else(|| panic!("no site file of {size} bytes"))
    }

    /// A `method` request for the file of `size` bytes, which must get it
    /// (`200`, its `Content-Length`).
    fn exchange(&self, method: &'static str, size: usize) -> Exchange<'_> {
        Exchange {
            method,
            target: format!("/{}", site_file_name(size)),
            status: 200,
            content: Some(self.content(size)),
            length: Some(size),
        }
    }

    /// Twelve requests to send at once on one connection before any
    /// response is read: a `GET` of every file (the 3 MiB one twice), a
    /// `HEAD` of three (empty, 64 KiB + 1, 3 MiB) and a `GET` of a missing
    /// file (`404`) in between, so that responses of every size, with and
    /// without a body, follow each other. `origin` is the server that
    /// serves the files (behind any proxy).
    pub fn pipeline(&self, origin: Origin) -> Vec<Exchange<'_>> {
        const MIB3: usize = 3 * 1024 * 1024;
        const K64: usize = 64 * 1024 + 1;
        let mut head_empty = self.exchange("HEAD", 0);
        if origin == Origin::Apache {
            // Apache's HTTP header filter drops `Content-Length: 0` from a
            // response to HEAD: it cannot tell an empty file from a handler
            // that returned without a body because the request was a HEAD.
            // (A GET of the file gets `Content-Length: 0`.)
            head_empty.length = None;
        }
        vec![
            self.exchange("GET", 0),
            self.exchange("GET", 1),
            self.exchange("HEAD", MIB3),
            self.exchange("GET", 1024),
            self.exchange("GET", K64),
            self.exchange("GET", MIB3),
            head_empty,
            Exchange {
                method: "GET",
                target: "/missing.bin".to_owned(),
                status: 404,
                content: None,
                length: None,
            },
            self.exchange("HEAD", K64),
            self.exchange("GET", MIB3),
            self.exchange("GET", 1),
            self.exchange("GET", 0),
        ]
    }

    /// A `GET` of the 1 KiB file: sent after an upload, on the same
    /// connection, to show that the server read exactly the upload's body.
    pub fn after_upload(&self) -> Exchange<'_> {
        self.exchange("GET", 1024)
    }
}

/// The server that serves the [`Site`]'s files, directly or behind a proxy
/// (for the few answers that differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Apache httpd ([`Apache`](crate::Apache)).
    Apache,
    /// lighttpd ([`Lighttpd`](crate::Lighttpd)).
    Lighttpd,
    /// nginx ([`Nginx`]).
    Nginx,
}

/// One request of a test and the response it must get.
#[derive(Debug, Clone)]
pub struct Exchange<'a> {
    /// `GET` or `HEAD`.
    pub method: &'static str,
    /// The origin-form target (also through a forward proxy: the client
    /// makes it absolute).
    pub target: String,
    /// The status it must get.
    pub status: u16,
    /// The file it asks for: a `GET` must get exactly these bytes, a
    /// `HEAD` no body. `None` for an error page (whose body and
    /// `Content-Length` are not checked).
    pub content: Option<&'a [u8]>,
    /// The `Content-Length` the response must have (for a `HEAD` too):
    /// the file's size, or `None` when it must have none.
    pub length: Option<usize>,
}

impl fmt::Display for Exchange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.target)
    }
}

impl Exchange<'_> {
    /// Asserts that a response (its status, its `Content-Length` field if
    /// any, and the body as read to its end) is the one expected.
    pub fn check(&self, status: u16, content_length: Option<&[u8]>, body: &[u8]) {
        assert_eq!(status, self.status, "status of {self}");
        let Some(content) = self.content else {
            return;
        };
        let length = self.length.map(|n| n.to_string());
        assert_eq!(
            content_length.map(String::from_utf8_lossy).as_deref(),
            length.as_deref(),
            "Content-Length of {self}"
        );
        if self.method == "HEAD" {
            assert!(body.is_empty(), "{self} got a body of {} bytes", body.len());
            return;
        }
        assert_same_bytes(body, content, &self.to_string());
    }

    /// Asserts that a response's `Via` field is there and names `proxy`
    /// (such as `dugong-squid`): the response came through that proxy.
    pub fn check_via(&self, via: Option<&[u8]>, proxy: &str) {
        let via = via.map(String::from_utf8_lossy);
        assert!(
            via.as_deref().is_some_and(|via| via.contains(proxy)),
            "{self}: Via {via:?} does not name {proxy}"
        );
    }
}

/// Asserts that `got` is `want`, naming the first differing offset
/// (instead of printing megabytes).
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let at = got.iter().zip(want).take_while(|(a, b)| a == b).count();
    panic!(
        "{what}: body of {} bytes instead of {}, first difference at offset {at}",
        got.len(),
        want.len()
    );
}

/// A request with `Expect: 100-continue` and a body of known length
/// (`Body::Sized`), and what the server really answers to it.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The method (`PUT`).
    pub method: &'static str,
    /// The origin-form target.
    pub target: String,
    /// The body, sent only after `100 Continue`.
    pub body: Vec<u8>,
    /// The server's answer.
    pub answer: Answer,
    /// Where the server stores the body, if it does: the file must then
    /// hold exactly the body.
    pub stored: Option<PathBuf>,
}

/// What a server answers to an [`Upload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `100 Continue` before the body; after the body, the final `status`
    /// with, when `body` is `Some`, exactly that body; the connection
    /// stays usable.
    Continue {
        /// The final status.
        status: u16,
        /// The final response's body, when it is known.
        body: Option<Vec<u8>>,
    },
    /// The final response at once, without `100 Continue`: the body must
    /// not be sent, and the client does not reuse the connection (the
    /// server would read whatever comes next as the body).
    Refused {
        /// The final status.
        status: u16,
    },
}

impl fmt::Display for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} with Expect: 100-continue and {} bytes",
            self.method,
            self.target,
            self.body.len()
        )
    }
}

impl Upload {
    /// The header fields to send: `Expect: 100-continue` (the body's
    /// `Content-Length` comes from `Body::Sized`).
    pub fn fields(&self) -> [(&'static str, &'static str); 1] {
        [("Expect", "100-continue")]
    }

    /// Whether the server asks for the body (`100 Continue` comes first).
    pub fn expects_continue(&self) -> bool {
        matches!(self.answer, Answer::Continue { .. })
    }

    /// Asserts the status of the first response head read after the
    /// request was sent: `100`, or the refusal's final status.
    pub fn check_first(&self, status: u16) {
        let want = match self.answer {
            Answer::Continue { .. } => 100,
            Answer::Refused { status } => status,
        };
        assert_eq!(status, want, "first answer to {self}");
    }

    /// Asserts the final response read after the body was sent (for an
    /// [`Answer::Continue`]), and what the server stored.
    pub fn check_final(&self, status: u16, body: &[u8]) {
        let Answer::Continue {
            status: want,
            body: ref want_body,
        } = self.answer
        else {
            panic!("{self} is refused: there is no response after the body");
        };
        assert_eq!(status, want, "final status of {self}");
        if let Some(want_body) = want_body {
            assert_same_bytes(body, want_body, &format!("answer to {self}"));
        }
        if let Some(path) = &self.stored {
            let stored = std::fs::read(path)
                .unwrap_or_else(|e| panic!("{self}: read {}: {e}", path.display()));
            assert_same_bytes(&stored, &self.body, &format!("file stored by {self}"));
        }
    }

    /// What Apache httpd ([`Apache`](crate::Apache)) answers.
    ///
    /// - A `PUT` of a static file: Apache's default handler reads (and
    ///   drops) any request body before it looks at the method, so it
    ///   sends `100 Continue`, takes the whole body, and only then answers
    ///   `405 Method Not Allowed`, keeping the connection.
    /// - A `PUT` over `LimitRequestBody` (`/small/`): the limit is checked
    ///   against `Content-Length` before anything is read, so `413` comes
    ///   at once and no `100` (with `Connection: close`).
    pub fn apache() -> Vec<Upload> {
        vec![
            Upload {
                method: "PUT",
                target: format!("/{}", site_file_name(1024)),
                body: site_content(UPLOAD_SIZE),
                answer: Answer::Continue {
                    status: 405,
                    body: None,
                },
                stored: None,
            },
            Upload::refused("/small/too-big.bin", 413),
        ]
    }

    /// What lighttpd ([`Lighttpd`](crate::Lighttpd)) answers.
    ///
    /// - A `PUT` to its CGI upload script: lighttpd sends `100 Continue`
    ///   when it starts reading the body, reads it whole, then runs the
    ///   script: `201` and `received <n> bytes`.
    /// - A `PUT` of a static file: no module handles `PUT`, and lighttpd
    ///   answers `501 Not Implemented` at once, without `100` (and with
    ///   `Connection: close`): it never asks for a body it does not need.
    pub fn lighttpd() -> Vec<Upload> {
        vec![
            Upload {
                method: "PUT",
                target: "/cgi/upload.sh".to_owned(),
                body: site_content(UPLOAD_SIZE),
                answer: Answer::Continue {
                    status: 201,
                    body: Some(format!("received {UPLOAD_SIZE} bytes\n").into_bytes()),
                },
                stored: None,
            },
            Upload::refused(&format!("/{}", site_file_name(1024)), 501),
        ]
    }

    /// What [`Nginx`] answers, directly or through a proxy (haproxy and
    /// squid relay its `100 Continue`).
    ///
    /// - A `PUT` to `/upload/<name>`: `100 Continue` when nginx starts
    ///   reading the body, then `201 Created` with an empty body, and the
    ///   file holds the body.
    /// - A `PUT` over `client_max_body_size` (`/small/`): `413` at once,
    ///   without `100`.
    pub fn nginx(nginx: &Nginx) -> Vec<Upload> {
        vec![
            Upload {
                method: "PUT",
                target: "/upload/dugong.bin".to_owned(),
                body: site_content(UPLOAD_SIZE),
                answer: Answer::Continue {
                    status: 201,
                    body: Some(Vec::new()),
                },
                stored: Some(nginx.root().join("upload/dugong.bin")),
            },
            Upload::refused("/small/too-big.bin", 413),
        ]
    }

    /// A `PUT` of 1000 bytes to `target` refused with `status`.
    fn refused(target: &str, status: u16) -> Upload {
        Upload {
            method: "PUT",
            target: target.to_owned(),
            body: vec![b'x'; 1000],
            answer: Answer::Refused { status },
            stored: None,
        }
    }
}
