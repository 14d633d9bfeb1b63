//! Shared helpers for the integration tests: the fake ServiceNow instance and estate builders.

pub mod estate;
pub mod fake;
