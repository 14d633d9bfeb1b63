//! Judging evidence built by hand: the clone simulation and the checks, waivers, the verdict
//! stage the commands share, the honesty rules of the report, and JSON snapshots of whole
//! judgements.

// Tests may print (skips, regenerated files); the library may not (clippy.toml).
#![allow(clippy::disallowed_macros)]

#[path = "judgement/estate.rs"]
mod estate;
#[path = "judgement/fix.rs"]
mod fix;
#[path = "judgement/grants.rs"]
mod grants;
#[path = "judgement/honesty.rs"]
mod honesty;
#[path = "judgement/mid_servers.rs"]
mod mid_servers;
#[path = "judgement/simulation.rs"]
mod simulation;
#[path = "judgement/snapshots.rs"]
mod snapshots;
#[path = "judgement/verdict.rs"]
mod verdict;
#[path = "judgement/waivers.rs"]
mod waivers;
