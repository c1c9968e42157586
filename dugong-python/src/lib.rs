//! The Rust half of the `dugong` Python module (`dugong._dugong`): one
//! connection's [`Session`](dugong_net::session::Session) driven over the
//! caller's Python socket. The pure-Python package around it (`dugong`)
//! gives python-dugong 3.8.2's API: `HTTPConnection`, the `co_*`
//! coroutines, the exceptions.
//!
//! This crate is a third driver over the session, next to
//! `dugong-blocking` and `dugong-tokio`: it moves bytes with the socket's
//! own `recv`/`send` (so `ssl.SSLSocket` works as it is; a plain socket is
//! read and written on its descriptor), waits with
//! `poll(2)` without the GIL, and maps errors to python-dugong's
//! exceptions. Protocol decisions are the core's.

mod core;
mod errors;
mod sock;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _dugong(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<core::Core>()?;
    m.add("POLLIN", sock::POLLIN)?;
    m.add("POLLOUT", sock::POLLOUT)?;
    m.add(
        "IDEMPOTENT_METHODS",
        dugong_net::resend::IDEMPOTENT_METHODS.to_vec(),
    )?;
    Ok(())
}
