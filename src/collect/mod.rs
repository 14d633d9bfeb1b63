//! What to ask each instance, concurrently, in waves; builds the [`Evidence`].
//!
//! Every instance is collected at once; within an instance the client bounds concurrency. The
//! waves are those of PRODUCT.md section 7, and each instance moves to its next wave as soon as
//! what that wave needs has arrived (no instance waits for another's unrelated reads):
//!
//! 0. `wave0_access`: one request (the `mid_server` role) that tells whether the instance can be
//!    read at all;
//! 1. `wave1`: its holders' role rows, MID Servers and their configured users, the roles
//!    containing `mid_server`, and (source) the preservers; (target) the properties;
//! 2. `wave2`: the MID users (by sys_id and by login, in `IN` lists ORed into as few 8 KB
//!    requests as fit), all their role rows and memberships (with their groups' ancestors,
//!    dot-walked), on the source also the users named like every target's MID logins (the
//!    copies the clone will bring); on a target also the whole-table count of each preserver
//!    and the preserver conditions on sys_user, sys_user_has_role and sys_user_grmember
//!    evaluated for the holders of `mid_server`;
//! 3. `wave3`: the groups of those memberships and the groups' roles (on the source also every
//!    group a target row refers to), the next level of roles containing `mid_server`, and on a
//!    target the user-level conditions for any MID user that is not a holder and the
//!    conditions of the preservers on the class tables of MID users of a child class of
//!    `sys_user` (`class_level_evals`); beside it, the roles the users' role rows grant (on the
//!    source also the targets') and what they contain, followed down (`roleIN`);
//! 4. `group_level_evals`: on a target, the preserver conditions on the group and role tables;
//!    beside it, on every instance, what the groups' roles contain, followed down.
//!
//! `waves_3_4` runs one instance from wave 2 to its end. On the source, whose wave 1 is full,
//! the reads nothing else depends on (the properties, the clone profiles, exclusions and clone
//! requests) queue behind wave 2's. Deeper group trees and role hierarchies add a wave per
//! level only when the data has them.
//!
//! In a fleet (`audit --pairs`), [`collect_in_fleet`] collects one pair, taking the source's
//! reads that do not depend on the targets from the [`FleetReads`] the pairs share (`shared`).
//!
//! The parts: `reader` (one instance's client, its reads and their coverage), `rows` (the
//! typed row of each table of [`crate::tables`], deserialised as each answer arrives), `waves`,
//! `preserver_eval` (the preserver conditions a target evaluates) and `assemble` (what the
//! waves gathered, as [`InstanceEvidence`]).
//!
//! Unreadable tables and rows hidden by ACLs become facts ([`Fact::Error`]), never a crash and
//! never an empty list that looks like "none".

mod assemble;
mod clone_rows;
mod mid_reads;
mod preserver_eval;
mod prod_reads;
mod progress;
mod reader;
mod rows;
mod shared;
mod trace;
mod waves;

use crate::client::{Client, ClientError};
use crate::config::{ClientSettings, ResolvedInstance};
use crate::evidence::*;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use reader::Reader;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::oneshot;
use waves::{Side, TargetGroups};

pub use progress::{Progress, ProgressSnapshot};
pub use shared::FleetReads;
pub use trace::{describe, ReadRecord, Step, Trace};

/// Rows asked for per page: the platform's default `sysparm_limit`, so that a read of a few
/// thousand MID-related rows (every holder of `mid_server`, every MID Server) is one round trip
/// rather than a chain of sequential pages.
const PAGE_SIZE: usize = 10_000;

/// Why a run could not collect at all (exit code 4).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// An instance could not be reached or refused the credentials on its first request. The
    /// run stops there; `partial` holds what was collected, every other fact marked unreadable,
    /// so reports can still be written (marked incomplete).
    #[error("{instance}: {error}")]
    Access {
        instance: String,
        error: ClientError,
        partial: Box<Evidence>,
    },
    #[error("{instance}: {error}")]
    Setup {
        instance: String,
        error: ClientError,
    },
}

/// Identity of a run, injected so reports can be frozen.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub tool_version: String,
}

/// The rows of one table read, or why they could not be read.
type Read<T> = Result<Vec<T>, Unreadable>;

fn fact<T>(r: Result<T, Unreadable>) -> Fact<T> {
    match r {
        Ok(v) => Fact::ok(v),
        Err(e) => Fact::Error {
            table: e.table,
            reason: e.reason,
        },
    }
}

/// The evidence of rows read: each row as its evidence record, or why they could not be read.
fn fact_of<R, T: From<R>>(rows: Read<R>) -> Fact<Vec<T>> {
    fact(rows.map(|rows| rows.into_iter().map(T::from).collect()))
}

/// Collects the evidence of one run: `source` and every target, concurrently.
pub async fn collect(
    source: &ResolvedInstance,
    targets: &[ResolvedInstance],
    settings: &ClientSettings,
    meta: RunMeta,
) -> Result<Evidence, CollectError> {
    collect_with_progress(source, targets, settings, meta, Arc::default()).await
}

/// [`collect`], counting in `progress` the instances done, the tables read and their requests
/// as they end, for a display to poll.
pub async fn collect_with_progress(
    source: &ResolvedInstance,
    targets: &[ResolvedInstance],
    settings: &ClientSettings,
    meta: RunMeta,
    progress: Arc<Progress>,
) -> Result<Evidence, CollectError> {
    collect_pair(
        source,
        targets,
        settings,
        meta,
        progress,
        None,
        Arc::default(),
    )
    .await
}

/// [`collect`], recording in `trace` every read and the read it waited for, so the run's
/// longest chain of dependent round trips can be told ([`Trace::deepest`]).
pub async fn collect_traced(
    source: &ResolvedInstance,
    targets: &[ResolvedInstance],
    settings: &ClientSettings,
    meta: RunMeta,
    trace: Arc<Trace>,
) -> Result<Evidence, CollectError> {
    collect_pair(source, targets, settings, meta, Arc::default(), None, trace).await
}

/// [`collect_with_progress`] of one pair of a fleet: the clients are the fleet's, and the
/// source's reads that do not depend on the targets are made once for every pair of that
/// source. The evidence is that of a standalone audit of the pair.
pub async fn collect_in_fleet(
    source: &ResolvedInstance,
    targets: &[ResolvedInstance],
    settings: &ClientSettings,
    meta: RunMeta,
    progress: Arc<Progress>,
    fleet: &FleetReads,
) -> Result<Evidence, CollectError> {
    collect_pair(
        source,
        targets,
        settings,
        meta,
        progress,
        Some(fleet),
        Arc::default(),
    )
    .await
}

async fn collect_pair(
    source: &ResolvedInstance,
    targets: &[ResolvedInstance],
    settings: &ClientSettings,
    meta: RunMeta,
    progress: Arc<Progress>,
    fleet: Option<&FleetReads>,
    trace: Arc<Trace>,
) -> Result<Evidence, CollectError> {
    let mut all: Vec<(&ResolvedInstance, InstanceRole)> = vec![(source, InstanceRole::Source)];
    all.extend(targets.iter().map(|t| (t, InstanceRole::Target)));
    let mut insts = Vec::new();
    for (i, (ri, role)) in all.iter().enumerate() {
        let client = match fleet {
            Some(f) => f.client(ri, settings),
            None => Client::new(ri, settings),
        };
        let client = client
            .map_err(|error| CollectError::Setup {
                instance: ri.name.clone(),
                error,
            })?
            .with_page_size(PAGE_SIZE);
        let shared = fleet.filter(|_| i == 0).map(|f| f.source(&ri.name));
        let reader = Reader::new(client, ri.name.clone(), progress.clone())
            .sharing(shared)
            .tracing(trace.clone());
        insts.push(match role {
            InstanceRole::Source => reader.keeping_row_times(),
            InstanceRole::Target => reader,
        });
    }

    // Wave 0: every instance answers, or the run stops before anything else is sent.
    let access = join_all(insts.iter().map(waves::wave0_access)).await;
    if let Some(i) = access.iter().position(Result::is_err) {
        let reasons: Vec<String> = access
            .iter()
            .zip(&insts)
            .map(|(a, inst)| match a {
                Err(e) => format!("{} could not be read: {}", inst.name, e.short()),
                Ok(_) => format!(
                    "not read: the run stopped because {} could not be read",
                    insts[i].name
                ),
            })
            .collect();
        let mut instances = BTreeMap::new();
        let mut error = None;
        for (((ri, role), inst), (a, why)) in
            all.iter().zip(&insts).zip(access.into_iter().zip(reasons))
        {
            let mid_role = match a {
                Ok((f, _)) => f,
                Err(e) => {
                    error.get_or_insert(e);
                    Fact::error(crate::tables::SYS_USER_ROLE.name, why.clone())
                }
            };
            let e = assemble::unread(ri, *role, inst, mid_role, &why);
            instances.insert(ri.name.clone(), e);
        }
        let partial = evidence(meta, source, targets, &insts, instances);
        return Err(CollectError::Access {
            instance: insts[i].name.clone(),
            error: error.expect("a first request failed"),
            partial: Box::new(partial),
        });
    }
    // Nothing else went out before every instance answered: the next reads wait for them all.
    let logged_in = Step::all(access.iter().flatten().map(|(_, step)| *step));
    let mid_roles: Vec<Fact<Vec<Role>>> = access.into_iter().flatten().map(|(f, _)| f).collect();

    let waves = async {
        // Wave 1, on every instance: the source's MID logins need every target's.
        let wave1s = join_all(
            insts
                .iter()
                .zip(mid_roles)
                .enumerate()
                .map(|(i, (inst, mid_role))| waves::wave1(inst, mid_role, i == 0, logged_in)),
        )
        .await;
        // Every instance's wave 1 is in before any goes on.
        let after = Step::all(wave1s.iter().map(|w| w.step));
        let target_logins: BTreeSet<String> = wave1s[1..]
            .iter()
            .flat_map(|w| w.logins().into_iter().chain(w.holder_names()))
            .collect();
        let target_cert_logins: BTreeSet<String> = wave1s[1..]
            .iter()
            .flat_map(|w| mid_reads::cert_logins(&w.agents, &w.configs))
            .collect();
        let preservers: Vec<Preserver> = wave1s[0]
            .preservers
            .as_ref()
            .and_then(|f| f.get().cloned())
            .unwrap_or_default();
        let (to_source, from_targets): (Vec<_>, Vec<_>) = wave1s[1..]
            .iter()
            .map(|_| oneshot::channel::<TargetGroups>())
            .unzip();
        // Production's MID Servers that look like a target's, whose credentials it reads (not
        // when the config says the source is not production).
        let suspects = match source.production {
            Some(false) => BTreeSet::new(),
            _ => prod_reads::suspects(&wave1s[0], &wave1s[1..]),
        };
        let mut sides = vec![Side::Source {
            target_logins: &target_logins,
            target_cert_logins: &target_cert_logins,
            from_targets,
            suspects,
        }];
        sides.extend(to_source.into_iter().map(|to_source| Side::Target {
            preservers: &preservers,
            to_source,
        }));
        join_all(
            insts
                .iter()
                .zip(wave1s)
                .zip(sides)
                .map(|((inst, w1), side)| async move {
                    let gathered = waves::waves_3_4(inst, w1, side, after).await;
                    inst.progress.instance_done();
                    gathered
                }),
        )
        .await
    };
    let gathered = waves.await;

    let mut instances = BTreeMap::new();
    for (((ri, role), inst), (g, x)) in all.iter().zip(insts.iter()).zip(gathered) {
        instances.insert(ri.name.clone(), assemble::assemble(ri, *role, inst, g, x));
    }
    Ok(evidence(meta, source, targets, &insts, instances))
}

/// The evidence document of a run that ends now, with every request the clients sent.
fn evidence(
    meta: RunMeta,
    source: &ResolvedInstance,
    targets: &[ResolvedInstance],
    insts: &[Reader],
    instances: BTreeMap<String, InstanceEvidence>,
) -> Evidence {
    Evidence {
        schema_version: EVIDENCE_SCHEMA_VERSION,
        tool_version: meta.tool_version,
        run_id: meta.run_id,
        started_at: meta.started_at,
        finished_at: Utc::now().max(meta.started_at),
        source: source.name.clone(),
        targets: targets.iter().map(|t| t.name.clone()).collect(),
        instances,
        requests: insts.iter().map(Reader::requests_sent).sum(),
        demo: false,
    }
}
