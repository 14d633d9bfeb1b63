//! The clone, simulated (PRODUCT.md 2.1): which preservers apply to a target's clone, what each
//! user table holds afterwards, and whether a user holds `mid_server` effectively in a given
//! state of the tables. Pure functions of the evidence.

use crate::evidence::{
    Group, GroupRole, InstanceEvidence, Membership, Role, RoleContains, Unreadable, User, UserRole,
};
use crate::tables::USER_TABLES;
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

/// One state of the user tables: an instance today, or a target after the clone. It borrows the
/// rows from the evidence (keyed by sys_id) rather than copying them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct World<'e> {
    pub users: BTreeMap<&'e str, (&'e User, Origin)>,
    pub user_roles: BTreeMap<&'e str, (&'e UserRole, Origin)>,
    pub memberships: BTreeMap<&'e str, (&'e Membership, Origin)>,
    pub groups: BTreeMap<&'e str, (&'e Group, Origin)>,
    pub group_roles: BTreeMap<&'e str, (&'e GroupRole, Origin)>,
    pub roles: BTreeMap<&'e str, (&'e Role, Origin)>,
    pub contains: BTreeMap<&'e str, (&'e RoleContains, Origin)>,
    /// sys_ids of the role(s) named `mid_server`.
    pub mid_roles: BTreeSet<String>,
    /// Why the containment of the roles users hold could not all be read
    /// ([`InstanceEvidence::held_role_contains`]), if it could not.
    pub held_unread: Option<Unreadable>,
    /// `mid_server` and the roles containing it, computed once on first use (the tables above
    /// are complete by then).
    granting: std::sync::OnceLock<BTreeSet<String>>,
    /// Rows by user and group, built once on first use.
    index: std::sync::OnceLock<Index<'e>>,
    /// How each user of this state holds `mid_server`, and which users hold it at all, worked
    /// out once on first use: every check asks about the same users.
    grants: std::sync::OnceLock<Grants<'e>>,
}

/// [`World::mid_grant`] and [`World::is_mid_role_holder`] of every user, by sys_id.
#[derive(Debug, Clone, Default, PartialEq)]
struct Grants<'e> {
    grant: BTreeMap<&'e str, Grant>,
    holders: BTreeSet<&'e str>,
}

/// Keys of the rows of each user and group, so per-user questions do not scan whole tables.
#[derive(Debug, Clone, Default, PartialEq)]
struct Index<'e> {
    /// The users with each user_name ([`login_key`]), in sys_id order.
    users: BTreeMap<String, Vec<(&'e User, Origin)>>,
    /// Rows by the user or group they belong to, in sys_id order.
    user_roles: BTreeMap<&'e str, Vec<&'e UserRole>>,
    memberships: BTreeMap<&'e str, Vec<&'e Membership>>,
    group_roles: BTreeMap<&'e str, Vec<&'e GroupRole>>,
}

fn by_id<'e, T>(
    rows: &'e [T],
    id: impl Fn(&'e T) -> &'e str,
    origin: Origin,
    keep: impl Fn(&T) -> bool,
) -> impl Iterator<Item = (&'e str, (&'e T, Origin))> {
    rows.iter()
        .filter(move |r| keep(r))
        .map(move |r| (id(r), (r, origin)))
}

impl<'e> World<'e> {
    /// The instance as it stands now.
    pub fn today(inst: &'e InstanceEvidence) -> Result<World<'e>, Unreadable> {
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
        source: &'e InstanceEvidence,
        target: &'e InstanceEvidence,
        plan: &ClonePlan,
    ) -> Result<World<'e>, Unreadable> {
        // A table that is not one of the user tables is a MID user's class table: a child of
        // sys_user, so excluding sys_user excludes its rows too.
        let copied = |table: &str| {
            !plan.excluded.contains_key(table)
                && (USER_TABLES.contains(&table) || !plan.excluded.contains_key("sys_user"))
        };
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
        inst: &'e InstanceEvidence,
        origin: Origin,
        keep: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(), Unreadable> {
        self.users.extend(by_id(
            inst.users.as_result()?,
            |r| r.sys_id.as_str(),
            origin,
            |r| keep(class_table(r), &r.sys_id),
        ));
        self.user_roles.extend(by_id(
            inst.user_roles.as_result()?,
            |r| r.sys_id.as_str(),
            origin,
            |r| keep("sys_user_has_role", &r.sys_id),
        ));
        self.memberships.extend(by_id(
            inst.memberships.as_result()?,
            |r| r.sys_id.as_str(),
            origin,
            |r| keep("sys_user_grmember", &r.sys_id),
        ));
        self.groups.extend(by_id(
            inst.groups.as_result()?,
            |r| r.sys_id.as_str(),
            origin,
            |r| keep("sys_user_group", &r.sys_id),
        ));
        self.group_roles.extend(by_id(
            inst.group_roles.as_result()?,
            |r| r.sys_id.as_str(),
            origin,
            |r| keep("sys_group_has_role", &r.sys_id),
        ));
        for roles in [inst.roles.as_result()?, inst.mid_role.as_result()?] {
            self.roles.extend(by_id(
                roles,
                |r| r.sys_id.as_str(),
                origin,
                |r| keep("sys_user_role", &r.sys_id),
            ));
        }
        self.contains.extend(by_id(
            inst.role_contains.as_result()?,
            |r| r.sys_id.as_str(),
            origin,
            |r| keep("sys_user_role_contains", &r.sys_id),
        ));
        match inst.held_role_contains.as_result() {
            Ok(rows) => self.contains.extend(by_id(
                rows,
                |r| &r.sys_id,
                origin,
                |r| keep("sys_user_role_contains", &r.sys_id),
            )),
            Err(e) => {
                self.held_unread.get_or_insert(e);
            }
        }
        Ok(())
    }

    fn index(&self) -> &Index<'e> {
        self.index.get_or_init(|| {
            let mut ix = Index::default();
            for &(u, origin) in self.users.values() {
                ix.users
                    .entry(login_key(&u.user_name))
                    .or_default()
                    .push((u, origin));
            }
            for &(r, _) in self.user_roles.values() {
                ix.user_roles.entry(r.user.as_str()).or_default().push(r);
            }
            for &(m, _) in self.memberships.values() {
                ix.memberships.entry(m.user.as_str()).or_default().push(m);
            }
            for &(g, _) in self.group_roles.values() {
                ix.group_roles.entry(g.group.as_str()).or_default().push(g);
            }
            ix
        })
    }

    /// The `sys_user_has_role` rows of a user (inherited ones included).
    pub fn roles_of<'w>(&'w self, user: &str) -> impl Iterator<Item = &'e UserRole> + 'w {
        let rows = self.index().user_roles.get(user);
        rows.into_iter().flatten().copied()
    }

    /// The `sys_user_grmember` rows of a user.
    pub fn memberships_of<'w>(&'w self, user: &str) -> impl Iterator<Item = &'e Membership> + 'w {
        let rows = self.index().memberships.get(user);
        rows.into_iter().flatten().copied()
    }

    /// The role rows of a group itself (not of its parents), whatever their `inherits`.
    fn group_role_rows<'w>(&'w self, group: &str) -> impl Iterator<Item = &'e GroupRole> + 'w {
        let rows = self.index().group_roles.get(group);
        rows.into_iter().flatten().copied()
    }

    /// The users with this user_name, compared case-insensitively ([`login_key`]).
    pub fn users_named(&self, user_name: &str) -> Vec<(&'e User, Origin)> {
        self.index()
            .users
            .get(&login_key(user_name))
            .cloned()
            .unwrap_or_default()
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
        while let Some((g, _)) = self.groups.get(current.as_str()) {
            if g.parent.is_empty() || chain.contains(&g.parent) {
                break;
            }
            chain.push(g.parent.clone());
            current = g.parent.clone();
        }
        chain
    }

    /// The role rows of `granting` roles of this group itself and of its ancestors that exist
    /// in this state, nearest first, with the group that holds each. None when the group does
    /// not exist in this state.
    fn group_rows_granting<'w>(
        &'w self,
        group: &str,
        granting: &'w BTreeSet<String>,
    ) -> Vec<(String, &'w GroupRole)> {
        if !self.groups.contains_key(group) {
            return Vec::new();
        }
        let mut rows = Vec::new();
        for g in self.ancestry(group) {
            if !self.groups.contains_key(g.as_str()) {
                break;
            }
            rows.extend(
                self.group_role_rows(&g)
                    .filter(|r| granting.contains(&r.role))
                    .map(|r| (g.clone(), r)),
            );
        }
        rows
    }

    /// The role through which this group (itself or an ancestor) grants `mid_server` to its
    /// members: `(via, role)`, by a role row whose `inherits` is true. `None` when the group
    /// does not exist in this state or grants nothing for certain (see
    /// [`World::group_mid_grant_unknown`]).
    pub fn group_mid_grant(
        &self,
        group: &str,
        granting: &BTreeSet<String>,
    ) -> Option<(String, String)> {
        self.group_rows_granting(group, granting)
            .into_iter()
            .find(|(_, r)| r.inherits == Some(true))
            .map(|(g, r)| (g, r.role.clone()))
    }

    /// Why it is unknown whether this group grants `mid_server` to its members: it grants it
    /// for certain through no row, but a row that would grant it has an unknown `inherits`.
    pub fn group_mid_grant_unknown(
        &self,
        group: &str,
        granting: &BTreeSet<String>,
    ) -> Option<Unreadable> {
        let rows = self.group_rows_granting(group, granting);
        if rows.iter().any(|(_, r)| r.inherits == Some(true)) {
            return None;
        }
        rows.into_iter()
            .find(|(_, r)| r.inherits.is_none())
            .map(|(g, r)| Unreadable {
                table: "sys_group_has_role".into(),
                reason: format!(
                    "inherits of the role row {} ({}) of group \"{}\" was not returned or is not true or false",
                    r.sys_id,
                    self.role_name(&r.role),
                    self.group_name(&g)
                ),
            })
    }

    /// A role row of this group or an ancestor that holds `mid_server` (or a role containing
    /// it) but does not pass it to members (`inherits` false): `(via, role)`.
    pub fn group_mid_row_not_inherited(
        &self,
        group: &str,
        granting: &BTreeSet<String>,
    ) -> Option<(String, String)> {
        self.group_rows_granting(group, granting)
            .into_iter()
            .find(|(_, r)| r.inherits == Some(false))
            .map(|(g, r)| (g, r.role.clone()))
    }

    fn grants(&self) -> &Grants<'e> {
        self.grants.get_or_init(|| {
            let mut g = Grants::default();
            for (id, (user, _)) in &self.users {
                let grant = self.find_mid_grant(id);
                if self.holds_mid_role(user, grant.is_some()) {
                    g.holders.insert(*id);
                }
                if let Some(grant) = grant {
                    g.grant.insert(*id, grant);
                }
            }
            g
        })
    }

    /// How the user holds `mid_server` effectively, or `None`. Inherited rows are the platform's
    /// cache and prove nothing; grant rows in a state other than `active` are not grants; a
    /// group passes a role to its members only by a row whose `inherits` is true. `None` can
    /// also mean unknown: see [`World::mid_grant_unknown`].
    pub fn mid_grant(&self, user_sys_id: &str) -> Option<Grant> {
        if self.users.contains_key(user_sys_id) {
            self.grants().grant.get(user_sys_id).cloned()
        } else {
            self.find_mid_grant(user_sys_id)
        }
    }

    fn find_mid_grant(&self, user_sys_id: &str) -> Option<Grant> {
        let granting = self.mid_granting_roles();
        let direct = self.roles_of(user_sys_id).find(|r| {
            !r.inherited
                && (r.state.is_empty() || r.state == "active")
                && granting.contains(r.role.as_str())
        });
        if let Some(r) = direct {
            return Some(Grant::Direct {
                role: r.role.to_string(),
            });
        }
        self.memberships_of(user_sys_id).find_map(|m| {
            self.group_mid_grant(&m.group, granting)
                .map(|(via, role)| Grant::Group {
                    group: m.group.to_string(),
                    via,
                    role,
                })
        })
    }

    /// Why it is unknown whether the user holds `mid_server`: no certain grant, but one of its
    /// groups would grant it through a row whose `inherits` is unknown.
    pub fn mid_grant_unknown(&self, user_sys_id: &str) -> Option<Unreadable> {
        if self.mid_grant(user_sys_id).is_some() {
            return None;
        }
        self.groups_grant_unknown(user_sys_id)
    }

    /// [`World::mid_grant_unknown`] without asking first for a certain grant.
    fn groups_grant_unknown(&self, user_sys_id: &str) -> Option<Unreadable> {
        let granting = self.mid_granting_roles();
        self.memberships_of(user_sys_id)
            .find_map(|m| self.group_mid_grant_unknown(&m.group, granting))
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
    /// inherited) of `mid_server` or a role containing it, or holds it through a group (or
    /// might: a group row whose `inherits` is unknown).
    pub fn is_mid_role_holder(&self, user: &User) -> bool {
        if self.users.contains_key(user.sys_id.as_str()) {
            self.grants().holders.contains(user.sys_id.as_str())
        } else {
            self.holds_mid_role(user, self.find_mid_grant(&user.sys_id).is_some())
        }
    }

    fn holds_mid_role(&self, user: &User, has_grant: bool) -> bool {
        let granting = self.mid_granting_roles();
        let by_row = self
            .roles_of(&user.sys_id)
            .any(|r| granting.contains(r.role.as_str()));
        has_grant || by_row || self.groups_grant_unknown(&user.sys_id).is_some()
    }

    /// The sys_ids of every role the user is granted in this state: by its own grant rows and
    /// by its groups (with their ancestors) through rows whose `inherits` is true; and apart,
    /// the roles group rows with an unknown `inherits` may grant. Contained roles are not
    /// followed (see [`World::contained`]).
    pub fn granted_roles(&self, user_sys_id: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut sure: BTreeSet<String> = self
            .roles_of(user_sys_id)
            .filter(|r| r.state.is_empty() || r.state == "active")
            .map(|r| r.role.to_string())
            .collect();
        let mut maybe = BTreeSet::new();
        for m in self.memberships_of(user_sys_id) {
            if !self.groups.contains_key(m.group.as_str()) {
                continue;
            }
            for g in self.ancestry(&m.group) {
                if !self.groups.contains_key(g.as_str()) {
                    break;
                }
                for r in self.group_role_rows(&g) {
                    match r.inherits {
                        Some(true) => sure.insert(r.role.clone()),
                        None => maybe.insert(r.role.clone()),
                        Some(false) => false,
                    };
                }
            }
        }
        maybe.retain(|r| !sure.contains(r));
        (sure, maybe)
    }

    /// The roles `roles` contain, transitively (the roles themselves excluded unless a cycle
    /// leads back to them), each with the role that brought it: `contained → container`.
    pub fn contained(&self, roles: &BTreeSet<String>) -> BTreeMap<String, String> {
        let mut by_role: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (c, _) in self.contains.values() {
            by_role.entry(&c.role).or_default().push(&c.contains);
        }
        let mut found: BTreeMap<String, String> = BTreeMap::new();
        let mut frontier: Vec<&str> = roles.iter().map(String::as_str).collect();
        // Bounded: each role is followed once.
        let mut seen: BTreeSet<&str> = frontier.iter().copied().collect();
        while let Some(role) = frontier.pop() {
            for &c in by_role.get(role).map(Vec::as_slice).unwrap_or_default() {
                found
                    .entry(c.to_string())
                    .or_insert_with(|| role.to_string());
                if seen.insert(c) {
                    frontier.push(c);
                }
            }
        }
        found
    }
}

/// A login as logins compare: case-insensitively, without surrounding blanks. The platform's
/// own MID Server dashboard compares user names that way.
pub fn login_key(user_name: &str) -> String {
    user_name.trim().to_lowercase()
}

/// Whether two logins are the same ([`login_key`]).
pub fn same_login(a: &str, b: &str) -> bool {
    a.trim() == b.trim() || login_key(a) == login_key(b)
}
