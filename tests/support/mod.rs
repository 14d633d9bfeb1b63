//! Shared helpers for the integration tests: the fake ServiceNow instance.

pub mod fake;
