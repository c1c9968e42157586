//! Test servers shared by the adapters' integration tests.
