//! What the waves gathered on one instance, as its [`InstanceEvidence`].

use super::reader::Reader;
use super::rows::{ContainsRow, GroupRoleRow, UserRoleRow};
use super::waves::{Extras, Gathered};
use super::{fact, fact_of, Read};
use crate::config::ResolvedInstance;
use crate::evidence::*;
use crate::tables::{SYS_PROPERTIES, SYS_USER_ROLE};
use std::collections::BTreeMap;

/// An instance the run did not read (it, or another instance, could not be reached): every fact
/// unreadable for `why`, the first request's answer kept.
pub(super) fn unread(
    ri: &ResolvedInstance,
    role: InstanceRole,
    inst: &Reader,
    mid_role: Fact<Vec<Role>>,
    why: &str,
) -> InstanceEvidence {
    let mut coverage = inst.tables_read();
    if coverage.is_empty() {
        coverage.push(TableRead {
            table: SYS_USER_ROLE.name.into(),
            requests: 1,
            rows: 0,
            hidden_rows: 0,
            error: Some(why.to_string()),
            absent: false,
            cause: None,
        });
    }
    InstanceEvidence {
        audit_user: ri.auth.audit_user(),
        production: Production {
            config: ri.production,
            property: Fact::error(SYS_PROPERTIES.name, why),
        },
        mid_role,
        coverage,
        ..InstanceEvidence::unread(&ri.name, &ri.url, role, why)
    }
}

/// Every role a collected row refers to, with its name: unreadable when any of those rows is
/// (the containment of the roles users hold only adds its roles where it was read: its own
/// fact says when it was not).
fn roles(
    holders: &Read<UserRoleRow>,
    user_roles: &Read<UserRoleRow>,
    group_roles: &Read<GroupRoleRow>,
    contains: &Read<ContainsRow>,
    held: &Read<ContainsRow>,
) -> Fact<Vec<Role>> {
    let unreadable = (holders.as_ref().err())
        .or(user_roles.as_ref().err())
        .or(group_roles.as_ref().err())
        .or(contains.as_ref().err());
    if let Some(e) = unreadable {
        return Fact::error(&e.table, e.reason.clone());
    }
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    // (By reference: the holders' and the MID users' role rows are the bulk of what was read.)
    let role_rows = [holders, user_roles].into_iter().flatten().flatten();
    let referenced = role_rows
        .map(UserRoleRow::role_ref)
        .chain(group_roles.iter().flatten().map(GroupRoleRow::role_ref));
    for role in referenced.flatten() {
        roles.insert(role.sys_id.clone(), role);
    }
    // A container's name never replaces the name a role row gave.
    let containers = contains
        .iter()
        .chain(held.as_ref().ok())
        .flatten()
        .flat_map(ContainsRow::role_refs);
    for role in containers.flatten() {
        roles.entry(role.sys_id.clone()).or_insert(role);
    }
    Fact::ok(roles.into_values().collect())
}

/// The evidence of an instance read to the end.
pub(super) fn assemble(
    ri: &ResolvedInstance,
    role: InstanceRole,
    inst: &Reader,
    g: Gathered,
    x: Extras,
) -> InstanceEvidence {
    let Gathered {
        w1,
        w2,
        groups,
        group_roles,
        contains,
        held,
        evals,
    } = g;
    let prop = |name: &str| {
        x.props.as_ref().map_err(Clone::clone).map(|rows| {
            rows.iter()
                .find(|r| r.name == name)
                .map(|r| r.value.clone())
        })
    };
    let credentials = x.clone.as_ref().and_then(|c| c.credentials.clone());
    let validation_override = fact(prop("glide.ecc_agent.validated.override"));
    let roles = roles(
        &w1.holder_rows,
        &w2.user_roles,
        &group_roles,
        &contains,
        &held,
    );
    let mut e = InstanceEvidence {
        name: ri.name.clone(),
        url: ri.url.clone(),
        role,
        audit_user: ri.auth.audit_user(),
        production: Production {
            config: ri.production,
            property: fact(prop("glide.installation.production")),
        },
        build_tag: fact(prop("glide.war")),
        mid_role: w1.mid_role,
        role_contains: fact_of(contains),
        held_role_contains: fact_of(held),
        roles,
        users: fact(w2.users),
        unsafe_logins: w2.unsafe_logins,
        user_roles: fact_of(w2.user_roles),
        memberships: fact_of(w2.memberships),
        groups: fact(groups),
        group_roles: fact_of(group_roles),
        mid_servers: w1.agents,
        mid_configs: w1.configs,
        clone: match (w1.preservers, x.clone) {
            (Some(preservers), Some(c)) => Some(CloneSetup {
                preservers,
                profiles: c.profiles,
                profile_preservers: c.profile_preservers,
                excludes: c.excludes,
                clone_requests: c.clone_requests,
                console_requests: c.console_requests,
                target_records: c.target_records,
            }),
            _ => None,
        },
        preserver_evals: evals,
        coverage: inst.tables_read(),
        validation_override,
        credentials,
        row_times: BTreeMap::new(),
        clusters: x.mid.clusters,
        cluster_members: x.mid.members,
        agent_issues: x.mid.issues,
        mid_pins: w1.pins,
        certificates: fact_of(w2.certificates),
    };
    e.row_times = kept_times(&e, inst.row_times());
    e
}

/// The times of the user-table rows the evidence holds (those a clone copies, on the source):
/// the rows read only to find them are left out.
fn kept_times(
    e: &InstanceEvidence,
    mut times: BTreeMap<String, RowTimes>,
) -> BTreeMap<String, RowTimes> {
    if times.is_empty() {
        return times;
    }
    let held: std::collections::BTreeSet<&str> = user_table_row_ids(e).collect();
    times.retain(|id, _| held.contains(id.as_str()));
    times
}
