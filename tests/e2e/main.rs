//! The end-to-end tests, in one binary: the real `preclone` binary against local fake instances
//! over real HTTP (audits, faults, hostile data, doctor), the command line without an instance,
//! the committed sample reports, and the HTML report in a real browser.
//!
//! `cargo test --test e2e` runs them all; `cargo test --test e2e faults::` one module.

// Tests may print (skips, regenerated files); the library may not (clippy.toml).
#![allow(clippy::disallowed_macros)]

mod support;

mod audit;
mod baseline;
mod browser;
mod chain;
mod check_fixes;
mod ci_recipes;
mod cli;
mod clone_requests;
mod doctor;
mod faults;
mod fix;
mod fleet;
mod grants;
mod honesty;
mod hostile;
mod mid_next;
mod options;
mod prod_next;
mod refusals;
mod registry;
mod sample_reports;
