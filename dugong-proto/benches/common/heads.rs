//! The response heads both benchmarks parse: `parse.rs` (criterion) and
//! `bench/src/parse_cost.rs` (instruction counts), which includes this file
//! by path.

/// 3 header fields, 88 bytes.
pub(crate) const SMALL: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.27.3\r\n\
Content-Type: text/plain\r\n\
Content-Length: 100\r\n\
\r\n";

/// 10 header fields, nginx behind a CDN.
pub(crate) const TYPICAL: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.27.3\r\n\
Date: Tue, 25 Nov 2025 03:23:00 GMT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 100\r\n\
Connection: keep-alive\r\n\
Last-Modified: Mon, 24 Nov 2025 18:02:11 GMT\r\n\
ETag: \"6743a1b3-64\"\r\n\
Cache-Control: public, max-age=3600\r\n\
Vary: Accept-Encoding\r\n\
X-Cache: HIT from edge-fra1\r\n\
\r\n";

/// 32 header fields: a CDN response with cookies and security headers.
pub(crate) const LARGE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.27.3\r\n\
Date: Tue, 25 Nov 2025 03:23:00 GMT\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Content-Length: 100\r\n\
Connection: keep-alive\r\n\
Keep-Alive: timeout=60, max=1000\r\n\
Last-Modified: Mon, 24 Nov 2025 18:02:11 GMT\r\n\
ETag: W/\"6743a1b3-64-5f2c9a0e1b\"\r\n\
Cache-Control: public, max-age=3600, stale-while-revalidate=60\r\n\
Expires: Tue, 25 Nov 2025 04:23:00 GMT\r\n\
Vary: Accept-Encoding, Origin, Accept-Language\r\n\
Accept-Ranges: bytes\r\n\
Age: 1187\r\n\
Via: 1.1 varnish, 1.1 edge-fra1.example-cdn.net\r\n\
X-Cache: HIT, MISS\r\n\
X-Cache-Hits: 12, 0\r\n\
X-Served-By: cache-fra-eddf8230045-FRA, cache-ams-ehaf2140021-AMS\r\n\
X-Timer: S1764040980.123456,VS0,VE1\r\n\
X-Request-Id: 9f1c2b7e-5a3d-4e8f-b6a1-0c2d3e4f5a6b\r\n\
X-Content-Type-Options: nosniff\r\n\
X-Frame-Options: SAMEORIGIN\r\n\
Referrer-Policy: strict-origin-when-cross-origin\r\n\
Strict-Transport-Security: max-age=63072000; includeSubDomains; preload\r\n\
Content-Security-Policy: default-src 'self'; img-src 'self' data: https://img.example-cdn.net; script-src 'self' https://static.example-cdn.net; frame-ancestors 'none'\r\n\
Permissions-Policy: geolocation=(), microphone=(), camera=()\r\n\
Access-Control-Allow-Origin: https://www.example.com\r\n\
Access-Control-Allow-Credentials: true\r\n\
Access-Control-Expose-Headers: X-Request-Id, X-Cache\r\n\
Set-Cookie: session=3f9a7c1e5b2d4f6a8c0e2b4d6f8a0c2e; Path=/; Secure; HttpOnly; SameSite=Lax\r\n\
Set-Cookie: __cf_bm=Yk2l9Q0pVb3x7ZrT1uWm5sNc8aJhFgDe; Path=/; Domain=.example.com; Expires=Tue, 25 Nov 2025 03:53:00 GMT; Secure; HttpOnly\r\n\
Timing-Allow-Origin: *\r\n\
Alt-Svc: h3=\":443\"; ma=86400\r\n\
\r\n";
