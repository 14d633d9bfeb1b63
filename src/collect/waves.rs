//! The reads of one instance (see [`super`] for when each goes out, `schedule` for the order):
//! what the reads right after the login check find, the users and their rows, the groups, and
//! the reads nothing waits for.

use super::clone_rows::*;
use super::mid_reads::{self, CertRow};
use super::reader::{merge, Got, Reader};
use super::rows::*;
use super::trace::Step;
use super::{fact, fact_of, Read};
use crate::client::ClientError;
use crate::evidence::*;
use crate::query;
use crate::simulate::login_key;
use crate::tables::*;
use std::collections::{BTreeMap, BTreeSet};

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

/// The login check: the first request tells whether we can reach and log in at all. Its answer
/// is the `mid_server` role record.
pub(super) async fn wave0_access(inst: &Reader) -> Result<Got<Fact<Vec<Role>>>, ClientError> {
    let Got(rows, step) = inst.first_request::<RoleRow>(&SYS_USER_ROLE).await?;
    Ok(Got(fact_of(rows), step))
}

/// What the first wave found on one instance: who holds `mid_server` and which MID Servers log
/// in as whom (and, on the source, its preservers).
#[derive(Clone)]
pub(super) struct Wave1 {
    pub(super) mid_role: Fact<Vec<Role>>,
    pub(super) holder_rows: Read<UserRoleRow>,
    pub(super) agents: Fact<Vec<MidServer>>,
    pub(super) configs: Fact<Vec<MidConfig>>,
    /// The `mid.pinned.version` rows, read with the configured users.
    pub(super) pins: Fact<Vec<MidPin>>,
    /// The source's clone data preservers (`None` on a target).
    pub(super) preservers: Option<Fact<Vec<Preserver>>>,
    /// Where the holders, MID Servers and configured users stand: what the users wait for.
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

    pub(super) fn holder_ids(&self) -> BTreeSet<String> {
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

    /// Who the MID users are, as the reads ask for them: the holders of `mid_server` and the
    /// users named by `names` (the MID Servers' logins; on the source also the targets' MID
    /// users) by login. A holder whose own row names it by a login looked up by name is found by
    /// that lookup (with any other user of the same name): asking for its sys_id as well would
    /// only lengthen the lists. Any other holder is asked for by whichever of its sys_id and its
    /// login (from its own row) is shorter, so that more of them fit each 8 KB request; another
    /// user the shorter login finds is no MID user and is left out ([`MidUsers::keep`]).
    pub(super) fn mid_users(&self, names: &BTreeSet<String>) -> MidUsers {
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
        let by_name = self.holders_named(&queryable);
        let logins = queryable.iter().map(|n| login_key(n)).collect();
        // Each holder's shorter key, from its rows: its login only when every row of it names
        // the same one (a holder's rows all name its one login).
        let mut keys: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for r in self.holder_rows.iter().flatten() {
            if !query::is_sys_id(&r.user) || by_name.contains(&r.user) {
                continue;
            }
            let short = query::safe_in_list(&r.user_name)
                && query::encoded_len(&r.user_name) < query::encoded_len(&r.user);
            let key = short.then_some(r.user_name.as_str());
            keys.entry(r.user.as_str())
                .and_modify(|k| {
                    if *k != key {
                        *k = None;
                    }
                })
                .or_insert(key);
        }
        let mut ids = BTreeSet::new();
        let mut names = queryable;
        for (id, key) in keys {
            match key {
                Some(login) => names.insert(login.to_string()),
                None => ids.insert(id.to_string()),
            };
        }
        MidUsers {
            ids,
            names,
            unsafe_logins,
            holders: self.holder_ids(),
            logins,
        }
    }
}

/// The MID users of one instance as its reads ask for them ([`Wave1::mid_users`]).
pub(super) struct MidUsers {
    /// Holders of `mid_server` asked for by sys_id.
    pub(super) ids: BTreeSet<String>,
    /// Logins safe in a query, asked for by name: those looked up as logins, and the holders'
    /// own where shorter than their sys_id.
    pub(super) names: BTreeSet<String>,
    pub(super) unsafe_logins: Vec<UnsafeLogin>,
    /// Every holder of `mid_server`.
    holders: BTreeSet<String>,
    /// The names looked up as logins ([`login_key`]).
    logins: BTreeSet<String>,
}

impl MidUsers {
    /// Whether the user `sys_id` of login `user_name` (a user read, or the user a row walks
    /// to) is a MID user: a holder of `mid_server`, or named by a login looked up (whatever its
    /// case, as the instance may match it) rather than found only through a holder's shorter
    /// login.
    pub(super) fn keeps(&self, sys_id: &str, user_name: &str) -> bool {
        self.holders.contains(sys_id) || self.logins.contains(&login_key(user_name))
    }
}

/// The first wave, right after the login check: the holders of `mid_server` (direct and
/// inherited rows), the MID Servers and their configured users.
pub(super) async fn wave1(inst: &Reader, mid_role: Fact<Vec<Role>>, after: Step) -> Wave1 {
    let (Got(holder_rows, s1), Got(agents, s2), Got(configs, s3)) = futures::join!(
        inst.initial(&SYS_USER_HAS_ROLE, after),
        inst.initial::<AgentRow>(&ECC_AGENT, after),
        inst.initial::<MidConfigRow>(&ECC_AGENT_CONFIG, after),
    );
    let (configs, pins) = mid_reads::split_configs(configs);
    Wave1 {
        mid_role,
        holder_rows,
        agents: fact_of(agents),
        configs,
        pins,
        preservers: None,
        step: Step::all([s1, s2, s3]),
    }
}

/// Reads no other read waits for: the properties, the MID Servers' clusters and open issues
/// and, on the source, the clone setup besides the preservers.
pub(super) struct Extras {
    pub(super) props: Read<PropertyRow>,
    pub(super) mid: mid_reads::MidExtras,
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

/// The source's clone setup besides the preservers and the credentials (read apart, once the
/// targets' MID Servers are known): profiles, their preservers, exclusions, clone requests and
/// the `instance` records they name.
pub(super) async fn clone_setup(inst: &Reader, after: Step) -> CloneExtras {
    let (
        Got(profiles, _),
        Got(links, _),
        Got(excludes, _),
        (clone_requests, console_requests, target_records),
    ) = futures::join!(
        inst.initial::<CloneProfileRow>(&CLONE_PROFILE, after),
        inst.initial::<ProfilePreserverRow>(&CLONE_PROFILE_PRESERVERS, after),
        inst.initial::<ExcludeRow>(&CLONE_DATA_EXCLUDE, after),
        clone_requests(inst, after),
    );
    CloneExtras {
        profiles: fact_of(profiles),
        profile_preservers: fact_of(links),
        excludes: fact_of(excludes),
        clone_requests,
        console_requests,
        target_records,
        credentials: None,
    }
}

/// What the second wave found: users, their role rows and memberships, certificate rows.
#[derive(Clone)]
pub(super) struct Wave2 {
    pub(super) users: Read<User>,
    pub(super) unsafe_logins: Vec<UnsafeLogin>,
    pub(super) user_roles: Read<UserRoleRow>,
    pub(super) memberships: Read<MembershipRow>,
    /// The certificate rows of the logins of MID Servers using mutual authentication.
    pub(super) certificates: Read<CertRow>,
    /// Where the users and certificate rows stand.
    pub(super) step: Step,
}

/// The MID users' memberships (by sys_id and by login), read on their own: the groups wait for
/// them alone. A row of a user the shorter login of a holder found is left out (by the login
/// the row walks to, [`MidUsers::keeps`]).
pub(super) async fn memberships(
    inst: &Reader,
    who: &MidUsers,
    after: Step,
) -> Got<Read<MembershipRow>> {
    let (ids, names) = (&who.ids, &who.names);
    let Got(rows, step) = inst
        .read_by_users::<MembershipRow>(
            &SYS_USER_GRMEMBER,
            "user",
            "user.user_name",
            ids,
            names,
            after,
        )
        .await;
    let rows = rows.map(|rows| {
        rows.into_iter()
            .filter(|m| who.keeps(&m.user, &m.user_name))
            .collect()
    });
    Got(rows, step)
}

/// The second wave: the MID users `who` (by sys_id and by login) and all their role rows, and
/// the certificate rows of `cert_names`, with their memberships ([`memberships`], read beside).
pub(super) async fn wave2(
    inst: &Reader,
    who: &MidUsers,
    cert_names: &BTreeSet<String>,
    after: Step,
    memberships: impl std::future::Future<Output = Got<Read<MembershipRow>>>,
) -> Wave2 {
    let (ids, names) = (&who.ids, &who.names);
    let (user, login) = ("user", "user.user_name");
    let cert_names: BTreeSet<String> = cert_names
        .iter()
        .filter(|n| query::safe_equals(n))
        .cloned()
        .collect();
    let (memberships, user_roles, users, certificates) = futures::join!(
        memberships,
        inst.read_by_users::<UserRoleRow>(&SYS_USER_HAS_ROLE, user, login, ids, names, after),
        inst.read_by_users::<UserRow>(&SYS_USER, "sys_id", "user_name", ids, names, after),
        mid_reads::certificates(inst, &cert_names, after),
    );
    let step = Step::all([users.1, user_roles.1, certificates.1]);
    let users: Read<User> = users.0.map(|rows| {
        rows.into_iter()
            .map(User::from)
            .filter(|u| who.keeps(&u.sys_id, &u.user_name))
            .collect()
    });
    let user_roles: Read<UserRoleRow> = user_roles.0.map(|rows| {
        rows.into_iter()
            .filter(|r| who.keeps(&r.user, &r.user_name))
            .collect()
    });
    Wave2 {
        users,
        unsafe_logins: who.unsafe_logins.clone(),
        user_roles,
        memberships: memberships.0,
        certificates: certificates.0,
        step,
    }
}

/// The groups of the memberships and their ancestors as far as the membership rows walk up
/// (`group.parent...`), so that parents cost no wave of their own unless the tree is deeper.
pub(super) fn group_ids(memberships: &Read<MembershipRow>) -> BTreeSet<String> {
    memberships
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

/// The names of the memberships' groups that can be put into a query.
pub(super) fn group_names(memberships: &Read<MembershipRow>) -> BTreeSet<String> {
    memberships
        .as_ref()
        .map(|rows| {
            rows.iter()
                .map(|r| r.group_name.clone())
                .filter(|g| query::safe_equals(g))
                .collect()
        })
        .unwrap_or_default()
}

/// The groups read and their roles, and where they stand.
#[derive(Clone)]
pub(super) struct Groups {
    pub(super) groups: Read<Group>,
    pub(super) group_roles: Read<GroupRoleRow>,
    pub(super) step: Step,
}

/// The third wave: the groups `gids` and `gnames` (by name: names holding a comma one by one
/// with `name=`) and their roles; then, only for a tree deeper than the membership rows walk,
/// the parents they did not reach, with their roles, a further read per level
/// ([`parent_groups`]).
pub(super) async fn wave3(
    inst: &Reader,
    gids: &BTreeSet<String>,
    gnames: &BTreeSet<String>,
    after: Step,
) -> Groups {
    let (Got(groups, s1), Got(group_roles, s2)) = futures::join!(
        inst.read_by_users::<GroupRow>(&SYS_USER_GROUP, "sys_id", "name", gids, gnames, after),
        inst.read_in(&SYS_GROUP_HAS_ROLE, "group", gids, after),
    );
    let groups = groups.map(|rows| rows.into_iter().map(Group::from).collect());
    parent_groups(inst, groups, group_roles, s1.and(s2)).await
}

/// Parents the membership rows did not reach, with their roles, to a fixpoint.
async fn parent_groups(
    inst: &Reader,
    mut groups: Read<Group>,
    mut group_roles: Read<GroupRoleRow>,
    mut step: Step,
) -> Groups {
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
        tracing::debug!(instance = %inst.name, groups = missing.len(), "parent groups deeper than the membership rows walk");
        let (Got(more, s1), Got(more_roles, s2)) = futures::join!(
            inst.read_in::<GroupRow>(&SYS_USER_GROUP, "sys_id", &missing, step),
            inst.read_in(&SYS_GROUP_HAS_ROLE, "group", &missing, step),
        );
        step = s1.and(s2);
        groups = groups.and_then(|mut g| {
            g.extend(more?.into_iter().map(Group::from));
            Ok(g)
        });
        group_roles = merge(group_roles, more_roles);
        if none_found(&groups, &missing) {
            break;
        }
    }
    Groups {
        groups,
        group_roles,
        step,
    }
}

/// Whether the last parent lookup found none of the missing groups (they do not exist or are
/// hidden), so looping again would ask the same.
fn none_found(groups: &Read<Group>, missing: &BTreeSet<String>) -> bool {
    groups
        .as_ref()
        .map(|g| !g.iter().any(|g| missing.contains(&g.sys_id)))
        .unwrap_or(true)
}

/// Everything gathered on one instance.
pub(super) struct Gathered {
    pub(super) w1: Wave1,
    pub(super) w2: Wave2,
    pub(super) groups: Read<Group>,
    pub(super) group_roles: Read<GroupRoleRow>,
    /// The roles containing `mid_server`, transitively.
    pub(super) contains: Read<ContainsRow>,
    /// The containment of the roles the users and groups read hold, followed down.
    pub(super) held: Read<ContainsRow>,
    pub(super) evals: Vec<PreserverEval>,
}
