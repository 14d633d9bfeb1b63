//! preclone: a read-only auditor run before a ServiceNow system clone.
//!
//! The flow is collect → judge → render: [`client`] speaks HTTP, [`collect`] builds the
//! [`evidence::Evidence`], [`checks`] judge it (pure functions), and [`report`] renders the one
//! [`report::Report`] in every format. A module only imports what is to its left in that flow.

pub mod checks;
pub mod cli;
pub mod client;
pub mod collect;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod evidence;
pub mod exit;
pub mod finding;
pub mod output;
pub mod query;
pub mod report;
pub mod simulate;
pub mod waivers;
