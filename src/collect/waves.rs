//! The waves of one instance's reads (see [`super`]): what each wave asks, and what it hands to
//! the next.

use super::clone_rows::*;
use super::mid_reads::{self, mid_extras, mid_level_evals, CertRow, MidExtras};
use super::preserver_eval::{
    class_level_evals, count_all, group_level_evals, match_users, user_level_evals, Matches,
};
use super::prod_reads;
use super::reader::{merge, Got, Reader};
use super::rows::*;
use super::trace::Step;
use super::{fact, fact_of, Read};
use crate::client::ClientError;
use crate::evidence::*;
use crate::query;
use crate::tables::*;
use std::collections::BTreeSet;
use tokio::sync::oneshot;

/// The values of one field of `rows` that are sys_ids (none when the rows are unreadable).
pub(super) fn sys_ids<T>(rows: &Read<T>, field: impl Fn(&T) -> &str) -> BTreeSet<String> {
    rows.as_ref()
        .map(|rows| {
            rows.iter()
                .map(&field)
                .filter(|v| query::is_sys_id(v))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Wave 0: the first request tells whether we can reach and log in at all. Its answer is the
/// `mid_server` role record.
pub(super) async fn wave0_access(inst: &Reader) -> Result<(Fact<Vec<Role>>, Step), ClientError> {
    let Got(rows, step) = inst.first_request::<RoleRow>(&SYS_USER_ROLE).await?;
    Ok((fact_of(rows), step))
}

/// What wave 1 found on one instance.
pub(super) struct Wave1 {
    pub(super) mid_role: Fact<Vec<Role>>,
    pub(super) holder_rows: Read<UserRoleRow>,
    pub(super) agents: Fact<Vec<MidServer>>,
    pub(super) configs: Fact<Vec<MidConfig>>,
    /// The `mid.pinned.version` rows, read with the configured users.
    pub(super) pins: Fact<Vec<MidPin>>,
    contains: Read<ContainsRow>,
    /// The source's clone data preservers (`None` on a target).
    pub(super) preservers: Option<Fact<Vec<Preserver>>>,
    /// A target's properties, read in this wave, which has room for them (`None` on the
    /// source, whose wave 1 is full: it reads them after wave 2's reads).
    extras: Option<Extras>,
    /// Where its answers stand: the latest of its reads.
    pub(super) step: Step,
}

impl Wave1 {
    /// The MID Servers' logins (logged-in and configured).
    pub(super) fn logins(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if let Some(a) = self.agents.get() {
            out.extend(a.iter().map(|m| m.user_name.clone()));
        }
        if let Some(c) = self.configs.get() {
            out.extend(c.iter().map(|c| c.value.clone()));
        }
        out.retain(|n| !n.is_empty());
        out
    }

    fn holder_ids(&self) -> BTreeSet<String> {
        sys_ids(&self.holder_rows, |r| &r.user)
    }

    pub(super) fn holder_names(&self) -> BTreeSet<String> {
        self.holder_rows
            .as_ref()
            .map(|rows| {
                rows.iter()
                    .map(|r| r.user_name.clone())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The holders' sys_ids whose login name (from the same row) is exactly one of `names`.
    fn holders_named(&self, names: &BTreeSet<String>) -> BTreeSet<String> {
        self.holder_rows
            .as_ref()
            .map(|rows| {
                rows.iter()
                    .filter(|r| names.contains(&r.user_name))
                    .map(|r| r.user.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Wave 1: what the later waves start from.
pub(super) async fn wave1(
    inst: &Reader,
    mid_role: Fact<Vec<Role>>,
    is_source: bool,
    after: Step,
) -> Wave1 {
    let preservers = async {
        if !is_source {
            return Got(None, after);
        }
        let Got(rows, step) = inst
            .initial::<PreserverRow>(&CLONE_DATA_PRESERVER, after)
            .await;
        Got(Some(fact_of(rows)), step)
    };
    let target_extras = async {
        if is_source {
            None
        } else {
            Some(extras(inst, None, after).await)
        }
    };
    let (holder_rows, agents, configs, contains, preservers, extras) = futures::join!(
        inst.initial(&SYS_USER_HAS_ROLE, after),
        inst.initial::<AgentRow>(&ECC_AGENT, after),
        inst.initial::<MidConfigRow>(&ECC_AGENT_CONFIG, after),
        inst.initial(&SYS_USER_ROLE_CONTAINS, after),
        preservers,
        target_extras,
    );
    let step = Step::all([holder_rows.1, agents.1, configs.1, contains.1, preservers.1]);
    let (holder_rows, agents, configs, contains, preservers) =
        (holder_rows.0, agents.0, configs.0, contains.0, preservers.0);
    let (configs, pins) = mid_reads::split_configs(configs);
    Wave1 {
        mid_role,
        holder_rows,
        agents: fact_of(agents),
        configs,
        pins,
        contains,
        preservers,
        extras,
        step,
    }
}

/// Reads no later wave depends on: the properties, the MID Servers' clusters and open issues
/// and, on the source, the clone setup besides the preservers. On the source they run beside
/// waves 2 and 3, queued after wave 2's reads; a target reads them in wave 1.
pub(super) struct Extras {
    pub(super) props: Read<PropertyRow>,
    pub(super) mid: MidExtras,
    /// Profiles, their preservers, exclusions and clone requests (source only).
    pub(super) clone: Option<CloneExtras>,
}

/// The source's clone setup besides the preservers.
pub(super) struct CloneExtras {
    pub(super) profiles: Fact<Vec<CloneProfile>>,
    pub(super) profile_preservers: Fact<Vec<ProfilePreserver>>,
    pub(super) excludes: Fact<Vec<Exclusion>>,
    pub(super) clone_requests: Fact<Vec<CloneRequest>>,
    pub(super) console_requests: Fact<Option<Vec<CloneRequest>>>,
    pub(super) target_records: Fact<Vec<InstanceRecord>>,
    /// Production's credentials naming a MID Server that looks like a target's.
    pub(super) credentials: Option<Fact<Vec<Credential>>>,
}

/// The clone requests of both request tables and, once they are in, the `instance` records
/// their targets point to (a read of its own, by sys_id).
async fn clone_requests(
    inst: &Reader,
    after: Step,
) -> (
    Fact<Vec<CloneRequest>>,
    Fact<Option<Vec<CloneRequest>>>,
    Fact<Vec<InstanceRecord>>,
) {
    let (Got(legacy, s1), Got(console, s2)) = futures::join!(
        inst.initial::<CloneRequestRow>(&CLONE_INSTANCE, after),
        inst.initial_or_absent::<CloneRequestRow>(&SN_INSTANCE_CLONE_REQUEST, after),
    );
    let legacy: Read<CloneRequest> = legacy.map(|rows| {
        rows.into_iter()
            .map(|r| r.into_request(RequestTable::CloneInstance))
            .collect()
    });
    let console: Result<Option<Vec<CloneRequest>>, Unreadable> = console.map(|rows| {
        rows.map(|rows| {
            rows.into_iter()
                .map(|r| r.into_request(RequestTable::SnInstanceCloneRequest))
                .collect()
        })
    });
    let targets: BTreeSet<String> = (legacy.iter().flatten())
        .chain(console.iter().flatten().flatten())
        .map(|r| r.target_instance.clone())
        .filter(|t| query::is_sys_id(t))
        .collect();
    let Got(records, _) = inst
        .read_in_shared::<InstanceRow>(&INSTANCE, "sys_id", &targets, s1.and(s2))
        .await;
    (fact(legacy), fact(console), fact_of(records))
}

/// The reads nothing depends on; `suspects` on the source only (its MID Servers that look like
/// a target's, whose credentials it reads).
async fn extras(inst: &Reader, suspects: Option<(&BTreeSet<String>, Step)>, after: Step) -> Extras {
    let clone = async {
        let (suspects, known) = suspects?;
        let (
            profiles,
            links,
            excludes,
            (clone_requests, console_requests, target_records),
            credentials,
        ) = futures::join!(
            inst.initial::<CloneProfileRow>(&CLONE_PROFILE, after),
            inst.initial::<ProfilePreserverRow>(&CLONE_PROFILE_PRESERVERS, after),
            inst.initial::<ExcludeRow>(&CLONE_DATA_EXCLUDE, after),
            clone_requests(inst, after),
            prod_reads::credentials(inst, suspects, known),
        );
        let (profiles, links, excludes) = (profiles.0, links.0, excludes.0);
        Some(CloneExtras {
            profiles: fact_of(profiles),
            profile_preservers: fact_of(links),
            excludes: fact_of(excludes),
            clone_requests,
            console_requests,
            target_records,
            credentials,
        })
    };
    let (Got(props, _), mid, clone) = futures::join!(
        inst.initial(&SYS_PROPERTIES, after),
        mid_extras(inst, after),
        clone
    );
    Extras { props, mid, clone }
}

/// What wave 2 found: users, their role rows and memberships.
pub(super) struct Wave2 {
    pub(super) users: Read<User>,
    pub(super) unsafe_logins: Vec<UnsafeLogin>,
    pub(super) user_roles: Read<UserRoleRow>,
    pub(super) memberships: Read<MembershipRow>,
    /// The certificate rows of the logins of MID Servers using mutual authentication.
    pub(super) certificates: Read<CertRow>,
    /// Where its answers stand.
    step: Step,
}

/// Wave 2: the users given by sys_id (the holders of `mid_server`) and by login (`names`), all
/// their role rows and memberships, and the certificate rows of `cert_names`.
async fn wave2(
    inst: &Reader,
    w1: &Wave1,
    names: &BTreeSet<String>,
    cert_names: &BTreeSet<String>,
    after: Step,
) -> Wave2 {
    let mut unsafe_logins = Vec::new();
    let mut queryable = BTreeSet::new();
    for n in names {
        if query::safe_equals(n) {
            queryable.insert(n.clone());
        } else {
            unsafe_logins.push(UnsafeLogin {
                user_name: n.clone(),
                reason: format!(
                    "the login {n:?} holds '^' or a line break and cannot be put into a query safely"
                ),
            });
        }
    }
    // A holder whose own row names it by a login looked up by name is found by that lookup
    // (with any other user of the same name): asking for its sys_id as well would only lengthen
    // the lists.
    let by_name = w1.holders_named(&queryable);
    let ids: BTreeSet<String> = w1
        .holder_ids()
        .into_iter()
        .filter(|id| !by_name.contains(id))
        .collect();
    let (user, login) = ("user", "user.user_name");
    let cert_names: BTreeSet<String> = cert_names
        .iter()
        .filter(|n| query::safe_equals(n))
        .cloned()
        .collect();
    let (users, user_roles, memberships, certificates) = futures::join!(
        inst.read_by_users::<UserRow>(&SYS_USER, "sys_id", "user_name", &ids, &queryable, after),
        inst.read_by_users(&SYS_USER_HAS_ROLE, user, login, &ids, &queryable, after),
        inst.read_by_users(&SYS_USER_GRMEMBER, user, login, &ids, &queryable, after),
        mid_reads::certificates(inst, &cert_names, after),
    );
    let step = Step::all([users.1, user_roles.1, memberships.1, certificates.1]);
    let (users, user_roles, memberships, certificates) =
        (users.0, user_roles.0, memberships.0, certificates.0);
    Wave2 {
        users: users.map(|rows| rows.into_iter().map(User::from).collect()),
        unsafe_logins,
        user_roles,
        memberships,
        certificates,
        step,
    }
}

/// Everything gathered on one instance across the waves.
pub(super) struct Gathered {
    pub(super) w1: Wave1,
    pub(super) w2: Wave2,
    pub(super) groups: Read<Group>,
    pub(super) group_roles: Read<GroupRoleRow>,
    pub(super) contains: Read<ContainsRow>,
    /// The containment of the roles the users and groups read hold, followed down.
    pub(super) held: Read<ContainsRow>,
    pub(super) evals: Vec<PreserverEval>,
}

/// The groups of the memberships and their ancestors as far as the membership rows walk up
/// (`group.parent...`), so that parents cost no wave of their own unless the tree is deeper.
fn group_ids(w2: &Wave2) -> BTreeSet<String> {
    w2.memberships
        .as_ref()
        .map(|rows| {
            rows.iter()
                .flat_map(|r| r.groups())
                .filter(|g| query::is_sys_id(g))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn group_names(w2: &Wave2) -> BTreeSet<String> {
    w2.memberships
        .as_ref()
        .map(|rows| {
            rows.iter()
                .map(|r| r.group_name.clone())
                .filter(|g| query::safe_equals(g))
                .collect()
        })
        .unwrap_or_default()
}

/// The roles containing `mid_server`, followed up the hierarchy one level per request to a
/// fixpoint, starting from wave 1's direct containers. Runs beside waves 2 and 3.
async fn contains_chain(
    inst: &Reader,
    start: Read<ContainsRow>,
    mut after: Step,
) -> Read<ContainsRow> {
    let mut contains = start;
    let mut asked: BTreeSet<String> = BTreeSet::new();
    for _ in 0..11 {
        let Ok(rows) = &contains else { break };
        let known: BTreeSet<&str> = rows.iter().map(|r| r.contains.as_str()).collect();
        let frontier: BTreeSet<String> = rows
            .iter()
            .map(|r| r.role.as_str())
            .filter(|r| query::is_sys_id(r) && !known.contains(r) && !asked.contains(*r))
            .map(str::to_string)
            .collect();
        if frontier.is_empty() {
            break;
        }
        asked.extend(frontier.iter().cloned());
        let before = rows.len();
        let Got(more, step) = inst
            .read_in_shared(&SYS_USER_ROLE_CONTAINS, "contains", &frontier, after)
            .await;
        after = step;
        contains = merge(contains, more);
        if contains.as_ref().map(|c| c.len()).unwrap_or(before) == before {
            break;
        }
    }
    contains
}

/// How many levels of roles contained in the MID users' roles are followed down.
const HELD_DEPTH: usize = 10;

/// Roles followed down no further: one the check already sees as elevated.
fn stops_descent(r: &ContainsRow) -> bool {
    r.contains_elevated == Some(true)
        || ["admin", "security_admin"].contains(&r.contains_name.as_str())
}

/// The containment of `roles` added to `rows`, followed down one level per request
/// (`roleIN`), asking each role once (`asked`). A contained role that is elevated is not
/// followed further: what it contains adds nothing to `mid-user-elevated-roles`. Unreadable
/// when a read fails or the roles nest deeper than [`HELD_DEPTH`] levels.
async fn held_contains(
    inst: &Reader,
    mut rows: Read<ContainsRow>,
    asked: &mut BTreeSet<String>,
    roles: BTreeSet<String>,
    mut after: Step,
) -> Read<ContainsRow> {
    let mut frontier: BTreeSet<String> = roles
        .into_iter()
        .filter(|r| query::is_sys_id(r) && !asked.contains(r))
        .collect();
    for _ in 0..HELD_DEPTH {
        if frontier.is_empty() || rows.is_err() {
            return rows;
        }
        asked.extend(frontier.iter().cloned());
        let Got(more, step) = inst
            .read_in::<ContainsRow>(&SYS_USER_ROLE_CONTAINS, "role", &frontier, after)
            .await;
        after = step;
        frontier = more
            .as_ref()
            .map(|m| {
                m.iter()
                    .filter(|r| !stops_descent(r))
                    .map(|r| r.contains.clone())
                    .filter(|c| query::is_sys_id(c) && !asked.contains(c))
                    .collect()
            })
            .unwrap_or_default();
        rows = merge(rows, more);
    }
    match (rows, frontier.is_empty()) {
        (Ok(_), false) => Err(Unreadable {
            table: SYS_USER_ROLE_CONTAINS.name.into(),
            reason: format!("roles contain roles more than {HELD_DEPTH} levels deep"),
        }),
        (rows, _) => rows,
    }
}

/// Parents the membership rows did not reach, with their roles, to a fixpoint.
async fn parent_groups(
    inst: &Reader,
    mut groups: Read<Group>,
    mut group_roles: Read<GroupRoleRow>,
    mut after: Step,
) -> (Read<Group>, Read<GroupRoleRow>, Step) {
    for _ in 0..10 {
        let Ok(gs) = &groups else { break };
        let have: BTreeSet<&str> = gs.iter().map(|g| g.sys_id.as_str()).collect();
        let missing: BTreeSet<String> = gs
            .iter()
            .map(|g| g.parent.clone())
            .filter(|p| query::is_sys_id(p) && !have.contains(p.as_str()))
            .collect();
        if missing.is_empty() {
            break;
        }
        let (Got(more, s1), Got(more_roles, s2)) = futures::join!(
            inst.read_in::<GroupRow>(&SYS_USER_GROUP, "sys_id", &missing, after),
            inst.read_in(&SYS_GROUP_HAS_ROLE, "group", &missing, after),
        );
        after = s1.and(s2);
        groups = groups.and_then(|mut g| {
            g.extend(more?.into_iter().map(Group::from));
            Ok(g)
        });
        group_roles = merge(group_roles, more_roles);
        if none_found(&groups, &missing) {
            break;
        }
    }
    (groups, group_roles, after)
}

/// Whether the last parent lookup found none of the missing groups (they do not exist or are
/// hidden), so looping again would ask the same.
fn none_found(groups: &Read<Group>, missing: &BTreeSet<String>) -> bool {
    groups
        .as_ref()
        .map(|g| !g.iter().any(|g| missing.contains(&g.sys_id)))
        .unwrap_or(true)
}

/// Wave 3: the groups `gids` and `gnames` (by name: names holding a comma one by one with
/// `name=`) and their roles, parents the membership rows did not reach to a fixpoint, and on a
/// target the user-level preservers' matches among the MID users that hold no `mid_server` row
/// (`others`).
async fn wave3(
    inst: &Reader,
    preservers: &[Preserver],
    gids: &BTreeSet<String>,
    gnames: &BTreeSet<String>,
    others: &BTreeSet<String>,
    after: Step,
) -> (Read<Group>, Read<GroupRoleRow>, Matches, Step) {
    let (Got(groups, s1), Got(group_roles, s2), late) = futures::join!(
        inst.read_by_users::<GroupRow>(&SYS_USER_GROUP, "sys_id", "name", gids, gnames, after),
        inst.read_in(&SYS_GROUP_HAS_ROLE, "group", gids, after),
        match_users(inst, preservers, others, after),
    );
    let groups = groups.map(|rows| rows.into_iter().map(Group::from).collect());
    let (groups, group_roles, step) = parent_groups(inst, groups, group_roles, s1.and(s2)).await;
    (groups, group_roles, late, step)
}

/// The group ids (with the ancestors their rows walk to) and names a target's memberships
/// refer to, which the source reads as well, and the roles its users' role rows grant, whose
/// containment the source reads as well (after the clone it is the source's).
pub(super) type TargetGroups = (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>, Step);

/// What one instance needs from, and owes to, the others after wave 1.
pub(super) enum Side<'a> {
    /// The source also looks up every target's MID logins (the copies the clone will bring)
    /// and, once each target has read its memberships, every group they refer to.
    Source {
        target_logins: &'a BTreeSet<String>,
        /// The targets' logins of MID Servers using mutual authentication, whose certificate
        /// rows the source reads too (a copy with the same sys_id survives the clone).
        target_cert_logins: &'a BTreeSet<String>,
        from_targets: Vec<oneshot::Receiver<TargetGroups>>,
        /// Its MID Servers that look like a target's (`prod_reads::suspects`).
        suspects: BTreeSet<String>,
    },
    /// A target evaluates the source's preservers and tells the source its groups.
    Target {
        preservers: &'a [Preserver],
        to_source: oneshot::Sender<TargetGroups>,
    },
}

/// The rest of one instance's reads after wave 1 (see [`super`]): [`wave2`] with the reads
/// that go out beside it (the roles containing `mid_server`, a target's preserver counts and
/// holder matches, the source's extras), then [`wave3`] and, on a target, wave 4 (the
/// group-level preservers), each as soon as what it needs has arrived. Parent groups deeper
/// than the membership rows walk, and roles containing `mid_server` more than two levels up,
/// add a wave each only when the data has them.
pub(super) async fn waves_3_4(
    inst: &Reader,
    mut w1: Wave1,
    side: Side<'_>,
    after: Step,
) -> (Gathered, Extras) {
    let (target_logins, target_cert_logins, from_targets, preservers, to_source, suspects) =
        match side {
            Side::Source {
                target_logins,
                target_cert_logins,
                from_targets,
                suspects,
            } => (
                Some(target_logins),
                Some(target_cert_logins),
                from_targets,
                &[][..],
                None,
                suspects,
            ),
            Side::Target {
                preservers,
                to_source,
            } => (
                None,
                None,
                Vec::new(),
                preservers,
                Some(to_source),
                BTreeSet::new(),
            ),
        };
    let is_target = to_source.is_some();
    let early_extras = w1.extras.take();
    let mut names = w1.logins();
    if let Some(t) = target_logins {
        names.extend(t.iter().cloned());
    }
    let mut cert_names = mid_reads::cert_logins(&w1.agents, &w1.configs);
    if let Some(t) = target_cert_logins {
        cert_names.extend(t.iter().cloned());
    }
    // Beside wave 2, on a target: the preservers on the cluster table, for its clusters (known
    // since wave 1).
    let cluster_ids = early_extras
        .as_ref()
        .map(|x| x.mid.cluster_ids())
        .unwrap_or_default();
    let cluster_evals = mid_level_evals(inst, preservers, &ECC_AGENT_CLUSTER, &cluster_ids, after);
    let chain = contains_chain(inst, w1.contains.clone(), after);
    // Also in wave 2, on a target, beside what wave 3 waits for: the preservers' whole-table
    // counts, and the user-level preservers evaluated for the holders of `mid_server` (known
    // since wave 1); wave 3 adds the other MID users, if any.
    let holders = w1.holder_ids();
    let counts = count_all(inst, preservers, after);
    let early = match_users(inst, preservers, &holders, after);
    let main = async {
        // Wave 2.
        let w2 = wave2(inst, &w1, &names, &cert_names, after).await;
        let mut known = w2.step;
        let mut gids = group_ids(&w2);
        let mut gnames = BTreeSet::new();
        let mut role_ids = sys_ids(&w2.user_roles, |r| &r.role);
        if let Some(tx) = to_source {
            // The source may have stopped waiting; nothing to do then.
            let _ = tx.send((gids.clone(), group_names(&w2), role_ids.clone(), known));
        }
        for rx in from_targets {
            // A target that could not send simply adds nothing.
            if let Ok((ids, names, roles, step)) = rx.await {
                known = known.and(step);
                gids.extend(ids);
                gnames.extend(names);
                role_ids.extend(roles);
            }
        }
        // Wave 3, with the containment of the roles known so far and, on a target, the
        // preservers on the MID users' class tables.
        let user_ids = sys_ids(&w2.users, |u| &u.sys_id);
        let others: BTreeSet<String> = user_ids.difference(&holders).cloned().collect();
        let mut asked = BTreeSet::new();
        let cert_ids = sys_ids(&w2.certificates, |c| &c.sys_id);
        let ((groups, group_roles, late, step), held, mut class_evals, cert_evals) = futures::join!(
            wave3(inst, preservers, &gids, &gnames, &others, known),
            held_contains(inst, Ok(Vec::new()), &mut asked, role_ids, known),
            class_level_evals(inst, preservers, &w2.users, w2.step),
            mid_level_evals(inst, preservers, &SYS_USER_CERTIFICATE, &cert_ids, w2.step),
        );
        class_evals.extend(cert_evals);
        (
            w2,
            user_ids,
            late,
            groups,
            group_roles,
            (held, asked),
            class_evals,
            step,
        )
    };
    // The source's reads nothing depends on are polled last, so they queue behind wave 2's.
    let x = async {
        match early_extras {
            Some(x) => x,
            None => extras(inst, Some((&suspects, after)), after).await,
        }
    };
    let (contains, main, counts, early, x, cluster_evals) =
        futures::join!(chain, main, counts, early, x, cluster_evals);
    let (w2, user_ids, late, groups, group_roles, (held, mut asked), class_evals, step) = main;
    let mut evals = user_level_evals(preservers, &counts, early, late, &w2, &user_ids);
    evals.extend(class_evals);
    evals.extend(cluster_evals);
    // The containment of the roles the groups hold, beside wave 4.
    let group_held = sys_ids(&group_roles, |r| &r.role);
    let mut g = Gathered {
        w1,
        w2,
        groups,
        group_roles,
        contains,
        held: Ok(Vec::new()),
        evals,
    };
    // Wave 4.
    let more = async {
        if is_target {
            group_level_evals(inst, preservers, &counts, &g, step).await
        } else {
            Vec::new()
        }
    };
    let (more, held) = futures::join!(
        more,
        held_contains(inst, held, &mut asked, group_held, step)
    );
    g.evals.extend(more);
    g.held = held;
    (g, x)
}
