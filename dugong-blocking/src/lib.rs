//! Blocking HTTP/1.1 client over std sockets.
