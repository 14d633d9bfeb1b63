//! preclone: a read-only auditor run before a ServiceNow system clone.
//!
//! The flow is collect → judge → render, and a module only imports what is to its left:
//!
//! - [`config`], [`cli`], [`settings`]: what the user asked for, resolved once per run;
//! - [`client`], [`query`], [`collect`]: read the instances over HTTP into the
//!   [`evidence::Evidence`] (plain data; [`demo`] builds one without a network);
//! - [`simulate`]: the clone, simulated on the evidence;
//! - [`finding`], [`checks`]: the check catalogue ([`checks::CheckId`]) and the pure judging of the
//!   evidence into a [`checks::Judgement`];
//! - [`waivers`]: accepted risks applied to the results;
//! - [`report`]: the one [`report::Report`] and its renderers; [`exit`]: the exit codes;
//! - [`verdict`]: evidence → judgement → waivers → report, the stage every command shares;
//! - [`output`]: files written atomically; [`doctor`]: the access matrix; [`fleet`]: the pairs
//!   of `audit --pairs`;
//! - [`fix`]: the records that close what a preserver can close, as XML to import.
//!
//! The binary (`src/bin/preclone/`, one file per command) parses the command line, calls into
//! these modules and is the only code that prints (`clippy.toml` denies the print macros here).
//!
//! Where a change goes: a new check is a [`checks::CheckId`] variant, a `CheckDef` in the
//! catalogue and one function in its family's file under `checks/`; a new report field is a field
//! of the model in `report/model.rs` (then `docs/report.schema.json` is regenerated); a new format
//! is a renderer beside the others and one arm in [`report::render`].

pub mod checks;
pub mod cli;
pub mod client;
pub mod collect;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod evidence;
pub mod evidence_map;
pub mod exit;
pub mod finding;
pub mod fix;
pub mod fleet;
pub mod output;
pub mod preflight;
pub mod query;
pub mod report;
pub mod settings;
pub mod shared_text;
pub mod simulate;
pub mod tables;
mod toml_check;
pub mod verdict;
pub mod waivers;
