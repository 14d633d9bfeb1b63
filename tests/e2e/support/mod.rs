//! What the end-to-end tests share: the fake ServiceNow instance, the estates built on it, the
//! harness that runs the real binary against them, and a TCP proxy for faults below HTTP.

pub mod big_estate;
pub mod estate;
pub mod fake;
pub mod proxy;
pub mod run;
