//! Transport plumbing shared by the dugong adapters.
