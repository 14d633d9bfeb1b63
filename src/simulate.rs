//! The clone, simulated (PRODUCT.md 2.1): which preservers apply to a target's clone, what each
//! user table holds afterwards, and whether a user holds `mid_server` effectively in a given
//! state of the tables. Pure functions of the evidence.

use crate::evidence::{
    Group, GroupRole, InstanceEvidence, Membership, Role, RoleContains, Unreadable, User, UserRole,
};
use std::collections::{BTreeMap, BTreeSet};

mod plan;
mod requests;

pub use plan::{class_table, class_tables, excluded_by, plan, ClonePlan};
pub use requests::{
    all_requests, clones_onto, host_of, is_pending, label, record_names, state_kind, CloneOptions,
    CloneSpec, StateKind,
};

/// Where a row of a simulated table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// Copied by the clone from the source.
    Source,
    /// The target's own row, kept by a preserver (or, in [`World::today`], simply the instance's).
    Target,
}

/// How a user holds `mid_server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// A grant row of `role` (mid_server or a role that contains it).
    Direct { role: String },
    /// Membership of `group`, which holds `role` itself or through its ancestor `via`.
    Group {
        group: String,
        via: String,
        role: String,
    },
}

/// One state of the user tables: an instance today, or a target after the clone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct World {
    pub users: BTreeMap<String, (User, Origin)>,
    pub user_roles: BTreeMap<String, (UserRole, Origin)>,
    pub memberships: BTreeMap<String, (Membership, Origin)>,
    pub groups: BTreeMap<String, (Group, Origin)>,
    pub group_roles: BTreeMap<String, (GroupRole, Origin)>,
    pub roles: BTreeMap<String, (Role, Origin)>,
    pub contains: BTreeMap<String, (RoleContains, Origin)>,
    /// sys_ids of the role(s) named `mid_server`.
    pub mid_roles: BTreeSet<String>,
    /// `mid_server` and the roles containing it, computed once on first use (the tables above
    /// are complete by then).
    granting: std::sync::OnceLock<BTreeSet<String>>,
    /// Rows by user and group, built once on first use.
    index: std::sync::OnceLock<Index>,
}

/// Keys of the rows of each user and group, so per-user questions do not scan whole tables.
#[derive(Debug, Clone, Default, PartialEq)]
struct Index {
    /// sys_ids of the users with each user_name.
    users: BTreeMap<String, Vec<String>>,
    user_roles: BTreeMap<String, Vec<String>>,
    memberships: BTreeMap<String, Vec<String>>,
    group_roles: BTreeMap<String, Vec<String>>,
}

fn by_id<T: Clone>(
    rows: &[T],
    id: impl Fn(&T) -> &str,
    origin: Origin,
    keep: impl Fn(&T) -> bool,
) -> BTreeMap<String, (T, Origin)> {
    rows.iter()
        .filter(|r| keep(r))
        .map(|r| (id(r).to_string(), (r.clone(), origin)))
        .collect()
}

impl World {
    /// The instance as it stands now.
    pub fn today(inst: &InstanceEvidence) -> Result<World, Unreadable> {
        let mut w = World::default();
        w.add(inst, Origin::Target, &|_, _| true)?;
        w.mid_roles = inst
            .mid_role
            .as_result()?
            .iter()
            .map(|r| r.sys_id.clone())
            .collect();
        Ok(w)
    }

    /// The target after the clone of `source` over it, following `plan`: the source's rows of
    /// every table not excluded, plus the target rows the preservers keep, the target's row
    /// winning on a sys_id clash.
    pub fn after_clone(
        source: &InstanceEvidence,
        target: &InstanceEvidence,
        plan: &ClonePlan,
    ) -> Result<World, Unreadable> {
        let copied = |table: &str| !plan.excluded.contains_key(table);
        let kept = |table: &str, id: &str| plan.kept.get(table).is_some_and(|k| k.contains(id));
        let mut w = World::default();
        w.add(source, Origin::Source, &|table, _| copied(table))?;
        w.add(target, Origin::Target, &kept)?;
        if copied("sys_user_role") {
            w.mid_roles.extend(
                source
                    .mid_role
                    .as_result()?
                    .iter()
                    .map(|r| r.sys_id.clone()),
            );
        }
        w.mid_roles.extend(
            target
                .mid_role
                .as_result()?
                .iter()
                .filter(|r| kept("sys_user_role", &r.sys_id))
                .map(|r| r.sys_id.clone()),
        );
        Ok(w)
    }

    /// Adds the rows of `inst` that `keep(table, sys_id)` selects; later rows win on a clash.
    fn add(
        &mut self,
        inst: &InstanceEvidence,
        origin: Origin,
        keep: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(), Unreadable> {
        self.users.extend(by_id(
            inst.users.as_result()?,
            |r| &r.sys_id,
            origin,
            |r| keep(class_table(r), &r.sys_id),
        ));
        self.user_roles.extend(by_id(
            inst.user_roles.as_result()?,
            |r| &r.sys_id,
            origin,
            |r| keep("sys_user_has_role", &r.sys_id),
        ));
        self.memberships.extend(by_id(
            inst.memberships.as_result()?,
            |r| &r.sys_id,
            origin,
            |r| keep("sys_user_grmember", &r.sys_id),
        ));
        self.groups.extend(by_id(
            inst.groups.as_result()?,
            |r| &r.sys_id,
            origin,
            |r| keep("sys_user_group", &r.sys_id),
        ));
        self.group_roles.extend(by_id(
            inst.group_roles.as_result()?,
            |r| &r.sys_id,
            origin,
            |r| keep("sys_group_has_role", &r.sys_id),
        ));
        for roles in [inst.roles.as_result()?, inst.mid_role.as_result()?] {
            self.roles.extend(by_id(
                roles,
                |r| &r.sys_id,
                origin,
                |r| keep("sys_user_role", &r.sys_id),
            ));
        }
        self.contains.extend(by_id(
            inst.role_contains.as_result()?,
            |r| &r.sys_id,
            origin,
            |r| keep("sys_user_role_contains", &r.sys_id),
        ));
        Ok(())
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut ix = Index::default();
            for (k, (u, _)) in &self.users {
                ix.users
                    .entry(u.user_name.clone())
                    .or_default()
                    .push(k.clone());
            }
            for (k, (r, _)) in &self.user_roles {
                ix.user_roles
                    .entry(r.user.clone())
                    .or_default()
                    .push(k.clone());
            }
            for (k, (m, _)) in &self.memberships {
                ix.memberships
                    .entry(m.user.clone())
                    .or_default()
                    .push(k.clone());
            }
            for (k, (g, _)) in &self.group_roles {
                ix.group_roles
                    .entry(g.group.clone())
                    .or_default()
                    .push(k.clone());
            }
            ix
        })
    }

    /// The `sys_user_has_role` rows of a user (inherited ones included).
    pub fn roles_of<'w>(&'w self, user: &str) -> impl Iterator<Item = &'w UserRole> + 'w {
        let keys = self
            .index()
            .user_roles
            .get(user)
            .map(Vec::as_slice)
            .unwrap_or_default();
        keys.iter()
            .filter_map(|k| self.user_roles.get(k).map(|(r, _)| r))
    }

    /// The `sys_user_grmember` rows of a user.
    pub fn memberships_of<'w>(&'w self, user: &str) -> impl Iterator<Item = &'w Membership> + 'w {
        let keys = self
            .index()
            .memberships
            .get(user)
            .map(Vec::as_slice)
            .unwrap_or_default();
        keys.iter()
            .filter_map(|k| self.memberships.get(k).map(|(m, _)| m))
    }

    /// The roles granted to a group itself (not through its parents).
    fn group_role_ids<'w>(&'w self, group: &str) -> impl Iterator<Item = &'w str> + 'w {
        let keys = self
            .index()
            .group_roles
            .get(group)
            .map(Vec::as_slice)
            .unwrap_or_default();
        keys.iter()
            .filter_map(|k| self.group_roles.get(k).map(|(g, _)| g.role.as_str()))
    }

    /// The users with this user_name.
    pub fn users_named(&self, user_name: &str) -> Vec<(&User, Origin)> {
        let keys = self
            .index()
            .users
            .get(user_name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        keys.iter()
            .filter_map(|k| self.users.get(k).map(|(u, o)| (u, *o)))
            .collect()
    }

    /// `mid_server` and every role that contains it, transitively.
    pub fn mid_granting_roles(&self) -> &BTreeSet<String> {
        self.granting.get_or_init(|| {
            let mut set = self.mid_roles.clone();
            loop {
                let before = set.len();
                for (c, _) in self.contains.values() {
                    if set.contains(&c.contains) {
                        set.insert(c.role.clone());
                    }
                }
                if set.len() == before {
                    return set;
                }
            }
        })
    }

    /// The group itself and its ancestors, nearest first (a cycle is cut).
    pub fn ancestry(&self, group: &str) -> Vec<String> {
        let mut chain = vec![group.to_string()];
        let mut current = group.to_string();
        while let Some((g, _)) = self.groups.get(&current) {
            if g.parent.is_empty() || chain.contains(&g.parent) {
                break;
            }
            chain.push(g.parent.clone());
            current = g.parent.clone();
        }
        chain
    }

    /// The role through which this group (itself or an ancestor) grants `mid_server`: `(via,
    /// role)`. `None` when the group does not exist in this state or grants nothing.
    pub fn group_mid_grant(
        &self,
        group: &str,
        granting: &BTreeSet<String>,
    ) -> Option<(String, String)> {
        if !self.groups.contains_key(group) {
            return None;
        }
        for g in self.ancestry(group) {
            if !self.groups.contains_key(&g) {
                break;
            }
            if let Some(role) = self.group_role_ids(&g).find(|r| granting.contains(*r)) {
                return Some((g.clone(), role.to_string()));
            }
        }
        None
    }

    /// How the user holds `mid_server` effectively, or `None`. Inherited rows are the platform's
    /// cache and prove nothing; grant rows in a state other than `active` are not grants.
    pub fn mid_grant(&self, user_sys_id: &str) -> Option<Grant> {
        let granting = self.mid_granting_roles();
        let direct = self.roles_of(user_sys_id).find(|r| {
            !r.inherited
                && (r.state.is_empty() || r.state == "active")
                && granting.contains(&r.role)
        });
        if let Some(r) = direct {
            return Some(Grant::Direct {
                role: r.role.clone(),
            });
        }
        self.memberships_of(user_sys_id).find_map(|m| {
            self.group_mid_grant(&m.group, granting)
                .map(|(via, role)| Grant::Group {
                    group: m.group.clone(),
                    via,
                    role,
                })
        })
    }

    pub fn role_name(&self, sys_id: &str) -> String {
        self.roles
            .get(sys_id)
            .map(|(r, _)| r.name.clone())
            .unwrap_or_else(|| sys_id.to_string())
    }

    pub fn group_name(&self, sys_id: &str) -> String {
        self.groups
            .get(sys_id)
            .map(|(g, _)| g.name.clone())
            .unwrap_or_else(|| sys_id.to_string())
    }

    /// Describes a grant for people: `role mid_server` or `group "Discovery MIDs" (role mid_server)`.
    pub fn describe(&self, grant: &Grant) -> String {
        match grant {
            Grant::Direct { role } => format!("direct grant of role {}", self.role_name(role)),
            Grant::Group { group, via, role } if group == via => format!(
                "group \"{}\" (role {})",
                self.group_name(group),
                self.role_name(role)
            ),
            Grant::Group { group, via, role } => format!(
                "group \"{}\" through parent \"{}\" (role {})",
                self.group_name(group),
                self.group_name(via),
                self.role_name(role)
            ),
        }
    }

    /// Whether the user is a MID user in this state: it has a `sys_user_has_role` row (direct or
    /// inherited) of `mid_server` or a role containing it, or holds it through a group.
    pub fn is_mid_role_holder(&self, user: &User) -> bool {
        let granting = self.mid_granting_roles();
        let by_row = self
            .roles_of(&user.sys_id)
            .any(|r| granting.contains(&r.role));
        by_row || self.mid_grant(&user.sys_id).is_some()
    }

    /// Names of every role the user holds through non-inherited grants and its groups (with
    /// their ancestors), in this state.
    pub fn granted_role_names(&self, user_sys_id: &str) -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = self
            .roles_of(user_sys_id)
            .filter(|r| r.state.is_empty() || r.state == "active")
            .map(|r| r.role.clone())
            .collect();
        for m in self.memberships_of(user_sys_id) {
            if !self.groups.contains_key(&m.group) {
                continue;
            }
            for g in self.ancestry(&m.group) {
                ids.extend(self.group_role_ids(&g).map(str::to_string));
            }
        }
        ids.iter().map(|id| self.role_name(id)).collect()
    }
}
