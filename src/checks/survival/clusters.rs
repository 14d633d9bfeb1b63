//! MID Server clusters under one clone: will every member of a cluster go Down
//! (`mid-cluster-will-go-down`), and will the cluster record itself survive
//! (`mid-cluster-not-preserved`: `ecc_agent_cluster` is in the default exclusions, and only a
//! preserver keeps the target's rows).

use super::certs::{kept_by, none_keeps, not_applied};
use super::health::{status, unknown_status, Status};
use crate::checks::{table_subject, CheckId, Ev, Judge, SimulatedClone};
use crate::evidence::{Cluster, InstanceEvidence, MidServer, Unreadable};
use crate::finding::{CheckResult, Subject};
use crate::simulate::ClonePlan;
use std::collections::BTreeMap;

const TABLE: &str = "ecc_agent_cluster";

/// What the clone does to one MID Server, as `mid-server-will-go-down` found it.
#[derive(Debug, Clone)]
pub(super) enum ServerFate {
    /// It will still log in.
    Up,
    /// It will go Down.
    Down,
    Undecided(Unreadable),
}

fn subject(c: &Cluster) -> Subject {
    Subject::new(TABLE, &c.sys_id, &c.name)
}

/// How reports name a cluster: `Failover cluster DISC-EU`.
fn title(c: &Cluster) -> String {
    match c.cluster_type.trim() {
        "" => format!("cluster {}", c.name),
        t => format!("{t} cluster {}", c.name),
    }
}

/// mid-cluster-will-go-down under one clone, from the fate of each MID Server (`fates`, by
/// sys_id); `servers` is `Err` when the target's MID Servers could not be read.
pub(super) fn will_go_down(
    target: &InstanceEvidence,
    servers: Result<&[MidServer], Unreadable>,
    fates: &BTreeMap<String, ServerFate>,
    out: &mut Vec<CheckResult>,
) {
    let j = Judge::new(CheckId::MidClusterWillGoDown, &target.name);
    let clusters = match target.clusters.as_result() {
        Ok(c) => c,
        Err(e) => return out.push(j.error(table_subject(TABLE), &e)),
    };
    let known = target
        .cluster_members
        .as_result()
        .and_then(|m| servers.map(|s| (m, s)));
    for c in clusters {
        let (members, servers) = match &known {
            Ok(k) => *k,
            Err(e) => {
                out.push(j.error(subject(c), e));
                continue;
            }
        };
        let agents: Vec<&MidServer> = members
            .iter()
            .filter(|r| r.cluster == c.sys_id)
            .filter_map(|r| servers.iter().find(|m| m.sys_id == r.agent))
            .collect();
        let mut by_clone = Vec::new();
        let mut dead = Vec::new();
        let mut working = Vec::new();
        let mut unknown = None;
        for m in &agents {
            match (fates.get(&m.sys_id), status(m)) {
                (Some(ServerFate::Down), _) => by_clone.push(m.name.clone()),
                (_, Status::NoWork) => dead.push(m.name.clone()),
                (Some(ServerFate::Up), Status::Works) => working.push(m.name.clone()),
                (Some(ServerFate::Undecided(e)), _) => unknown = Some(e.clone()),
                (_, Status::Unknown) => unknown = Some(unknown_status(m)),
                (None, Status::Works) => working.push(m.name.clone()),
            }
        }
        let down = by_clone.len() + dead.len();
        let line = format!("{}: {down} of {} members down", title(c), agents.len());
        let mut names = by_clone.clone();
        names.extend(dead.iter().cloned());
        let ev = Ev::new()
            .with("cluster_type", &c.cluster_type)
            .with("members", agents.len().to_string())
            .with("members_down", down.to_string())
            .with("down", names.join(", "))
            .with("impact", &line);
        if agents.is_empty() {
            out.push(j.pass(
                subject(c),
                format!("{} has no member MID Server", title(c)),
                ev,
            ));
        } else if !working.is_empty() {
            out.push(j.pass(
                subject(c),
                format!("{line}: {} keeps working", working.join(", ")),
                ev,
            ));
        } else if let Some(e) = unknown {
            out.push(j.error(subject(c), &e));
        } else if by_clone.is_empty() {
            out.push(j.pass(
                subject(c),
                format!("{line}, all of them before the clone (see mid-server-already-down): the clone does not change it"),
                ev,
            ));
        } else {
            let before = if dead.is_empty() {
                String::new()
            } else {
                format!(", and {} already does no work", dead.join(", "))
            };
            out.push(j.fail(
                subject(c),
                format!(
                    "{line}: {} will go Down after the clone{before}; work routed to {} stops (Discovery is cancelled, mid_server.cluster.down fires)",
                    by_clone.join(", "),
                    c.name
                ),
                format!("fix the findings of mid-server-will-go-down for {}, or keep one member of {} on a user that survives the clone", by_clone.join(", "), c.name),
                ev,
            ));
        }
    }
}

/// Whether the clone keeps one cluster: `Ok(Ok(how))` when it does, `Ok(Err(why))` when not.
fn survives(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    plan: &ClonePlan,
    c: &Cluster,
) -> Result<Result<String, String>, Unreadable> {
    if let Some(p) = kept_by(source, target, plan, TABLE, &c.sys_id)? {
        return Ok(Ok(format!("preserver \"{p}\" keeps it")));
    }
    let mut why = match plan.mid_excluded.get(TABLE) {
        Some(e) => format!(
            "clone_data_exclude entry {e} empties {TABLE} on {}",
            target.name
        ),
        None => {
            let copied = source.clusters.as_result()?;
            if copied.iter().any(|s| s.sys_id == c.sys_id) {
                return Ok(Ok(format!(
                    "{TABLE} is copied, and {} has the cluster with the same sys_id",
                    source.name
                )));
            }
            format!(
                "{TABLE} is copied from {}, which has no cluster with this sys_id: it will hold {}'s clusters instead",
                source.name, source.name
            )
        }
    };
    why.push_str(&none_keeps(source, plan, TABLE));
    why.push_str(&not_applied(source, plan, TABLE));
    Ok(Err(why))
}

/// mid-cluster-not-preserved under one clone: each cluster of the target.
pub(super) fn not_preserved(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    clone: &SimulatedClone,
    out: &mut Vec<CheckResult>,
) {
    let j = Judge::new(CheckId::MidClusterNotPreserved, &target.name);
    let clusters = match target.clusters.as_result() {
        Ok(c) => c,
        Err(e) => return out.push(j.error(table_subject(TABLE), &e)),
    };
    for c in clusters {
        let verdict = clone
            .plan
            .as_ref()
            .map_err(Unreadable::clone)
            .and_then(|plan| survives(source, target, plan, c));
        let ev = Ev::new().with("cluster_type", &c.cluster_type);
        out.push(match verdict {
            Ok(Ok(how)) => j.pass(subject(c), format!("{} survives the clone: {how}", title(c)), ev),
            Ok(Err(why)) => j.fail(
                subject(c),
                format!("{} will not exist on {} after the clone: {why}; its members' cluster rows will point nowhere", title(c), target.name),
                format!("on {}, add a clone data preserver on {TABLE} (an empty condition keeps every cluster; name={} keeps this one) and list it in the clone profile; or create the cluster {} again on {} after the clone and re-point what names it", source.name, c.name, c.name, target.name),
                ev.with("because", why),
            ),
            Err(e) => j.error(subject(c), &e),
        });
    }
}
