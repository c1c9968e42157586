//! The exceptions python-dugong raises, made from session errors. The
//! classes live in the pure-Python `dugong._util` module.

use dugong_net::{Error, ErrorKind};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// `(method, path, fate)` of each request a closed connection left
/// unanswered.
pub(crate) type Account = Vec<(String, String, &'static str)>;

/// An instance of `dugong._util.<class>` made with `args` and `kwargs`, as
/// a `PyErr`; a `RuntimeError` if the module cannot be imported.
fn make(py: Python<'_>, class: &str, message: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyErr {
    let made = py
        .import("dugong._util")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call((message,), kwargs));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => PyRuntimeError::new_err(format!("dugong: cannot raise {class}({message}): {e}")),
    }
}

/// `StateError(message)`: a call not allowed in the connection's state.
pub(crate) fn state_error(py: Python<'_>, message: &str) -> PyErr {
    make(py, "StateError", message, None)
}

/// `UnsupportedResponse(message)`.
pub(crate) fn unsupported(py: Python<'_>, message: &str) -> PyErr {
    make(py, "UnsupportedResponse", message, None)
}

/// `ConnectionTimedOut()`: a wait for the socket passed the caller's
/// `timeout`.
pub(crate) fn timed_out(py: Python<'_>) -> PyErr {
    make(
        py,
        "ConnectionTimedOut",
        "send/receive timeout exceeded",
        None,
    )
}

/// The exception for a session error: `ConnectionClosed` (with the fate
/// of every unanswered request in `account`), `InvalidResponse`,
/// `UnsupportedResponse`, `ExcessBodyData`, `StateError`,
/// `ConnectionTimedOut`, `ValueError` for an invalid request, `OSError`
/// for other I/O failures.
pub(crate) fn from_session(py: Python<'_>, error: &Error, account: Option<Account>) -> PyErr {
    use dugong_proto::Error as P;
    let message = error.to_string();
    match error {
        Error::Protocol(P::ExcessBodyData { .. }) => {
            return make(py, "ExcessBodyData", &message, None)
        }
        Error::Protocol(P::State(dugong_proto::StateError::Closing)) => {
            return closed(
                py,
                "connection is closing: the server announced the close",
                None,
            )
        }
        Error::Protocol(P::State(_)) => return state_error(py, &message),
        Error::Protocol(P::InvalidRequest(_)) => return PyValueError::new_err(message),
        _ => {}
    }
    match error.kind() {
        ErrorKind::Closed => closed(py, &message, account),
        ErrorKind::Invalid | ErrorKind::TooLarge => make(py, "InvalidResponse", &message, None),
        ErrorKind::Unsupported => make(py, "UnsupportedResponse", &message, None),
        ErrorKind::TimedOut => make(py, "ConnectionTimedOut", &message, None),
        ErrorKind::Usage => state_error(py, &message),
        _ => PyOSError::new_err(message),
    }
}

/// The fate of a request the server cannot have processed (RFC 9112 §9.6,
/// or never completely written): safe to send again.
pub(crate) const NOT_PROCESSED: &str = "not_processed";

/// `ConnectionClosed(message, resendable=..., fates=...)`: `fates` lists
/// `(method, path, fate)` for each unanswered request, `resendable` the
/// `(method, path)` of those that were not processed.
fn closed(py: Python<'_>, message: &str, account: Option<Account>) -> PyErr {
    let kwargs = PyDict::new(py);
    let fates = account.unwrap_or_default();
    let resendable = fates
        .iter()
        .filter(|(_, _, fate)| *fate == NOT_PROCESSED)
        .map(|(method, path, _)| (method.clone(), path.clone()))
        .collect::<Vec<_>>();
    let set = PyTuple::new(py, resendable)
        .and_then(|t| kwargs.set_item("resendable", t))
        .and_then(|()| PyTuple::new(py, fates))
        .and_then(|t| kwargs.set_item("fates", t));
    if let Err(e) = set {
        return e;
    }
    make(py, "ConnectionClosed", message, Some(&kwargs))
}
