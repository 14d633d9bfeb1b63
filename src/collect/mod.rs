//! What to ask each instance, concurrently; builds the [`Evidence`].
//!
//! Every instance is collected at once; within an instance the client bounds concurrency. Each
//! read goes out as soon as what it needs is known, with no barrier between reads that do not
//! need each other (`schedule`), so that no chain of reads each waiting for the one before is
//! longer than the login check and three waves (PRODUCT.md section 7), counted across instances:
//!
//! 0. the login check (`wave0_access`): one request per instance (the `mid_server` role), all
//!    answered before anything else is sent;
//! 1. what needs nothing but the login: the holders of `mid_server` (direct and inherited role
//!    rows), MID Servers and their configured users (`wave1`), role containment whole (one paged
//!    read, followed up from `mid_server` and down from the roles held without a request per
//!    level: `roles`), the properties, clusters, members and issues; on the source also the
//!    preservers and the clone setup;
//! 2. once the holders and MID Servers are in: the MID users (by sys_id and by login, in `IN`
//!    lists ORed into as few 8 KB requests as fit), all their role rows and memberships (with
//!    [`crate::tables::GROUP_WALK`] levels of their groups' ancestors, dot-walked) and the
//!    certificate rows (`wave2`); on the source also the users named like every target's MID
//!    users (the copies the clone will bring) and the credentials; on a target, once the
//!    source's preservers are in too, the preservers' whole-table counts and the user-level
//!    conditions evaluated for the same MID users (holders by sys_id, logins by name), and the
//!    cluster preservers;
//! 3. once the memberships are in: the groups and their roles (`wave3`; on the source also
//!    every group a target's rows refer to); on a target the class-table and certificate
//!    preservers, and the user-level conditions for any MID user not asked about yet;
//! 4. nothing else, unless the data is deeper: the group- and role-table preservers (a target
//!    with such preservers), and a group nested deeper than the membership rows walk (a further
//!    read per [`crate::tables::GROUP_WALK`] levels, logged with `-vv`).
//!
//! Every read records the read it waited for (`trace`): [`collect_traced`] returns the record.
//!
//! In a fleet (`audit --pairs`), [`collect_in_fleet`] collects one pair, taking the source's
//! reads that do not depend on the targets from the [`FleetReads`] the pairs share (`shared`).
//!
//! The parts: `reader` (one instance's client, its reads and their coverage), `rows` (the
//! typed row of each table of [`crate::tables`], deserialised as each answer arrives), `waves`
//! (what each read asks), `schedule` (when), `roles` (containment followed), `preserver_eval`
//! (the preserver conditions a target evaluates), `trace` (which read waited for which) and
//! `assemble` (what was gathered, as [`InstanceEvidence`]).
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
mod roles;
mod rows;
mod schedule;
mod shared;
mod trace;
mod waves;

use crate::client::{Client, ClientError};
use crate::config::{ClientSettings, ResolvedInstance};
use crate::evidence::*;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use reader::{Got, Reader};
use std::collections::BTreeMap;
use std::sync::Arc;

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

    // The login check: every instance answers, or the run stops before anything else is sent.
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
                Ok(Got(f, _)) => f,
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
    let logged_in = Step::all(access.iter().flatten().map(|Got(_, step)| *step));
    let mid_roles: Vec<Fact<Vec<Role>>> = access.into_iter().flatten().map(|g| g.0).collect();

    // Then every instance's reads at once, each as soon as its inputs are in (`schedule`).
    let links = schedule::Links::new(targets.len());
    let production = source.production;
    let gathered = join_all(insts.iter().zip(mid_roles).enumerate().map(
        |(i, (inst, mid_role))| {
            let links = &links;
            async move {
                let gathered = match i {
                    0 => schedule::source(inst, mid_role, logged_in, links, production).await,
                    _ => schedule::target(inst, mid_role, logged_in, links, i - 1).await,
                };
                inst.progress.instance_done();
                gathered
            }
        },
    ))
    .await;
    drop(links);

    let mut instances = BTreeMap::new();
    {
        // The role and membership rows' users, roles and groups, each stored once.
        let _pool = crate::shared_text::Pool::new();
        for (((ri, role), inst), (g, x)) in all.iter().zip(insts.iter()).zip(gathered) {
            instances.insert(ri.name.clone(), assemble::assemble(ri, *role, inst, g, x));
        }
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
