//! The clone, simulated (PRODUCT.md 2.1): which preservers apply to a target's clone, what each
//! user table holds afterwards, and whether a user holds `mid_server` effectively in a given
//! state of the tables. Pure functions of the evidence.

use crate::evidence::{
    CloneRequest, Fact, Group, GroupRole, InstanceEvidence, Membership, Preserver, Role,
    RoleContains, Unreadable, User, UserRole, USER_TABLES,
};
use std::collections::{BTreeMap, BTreeSet};

/// Where a row of a simulated table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// Copied by the clone from the source.
    Source,
    /// The target's own row, kept by a preserver (or, in [`World::today`], simply the instance's).
    Target,
}

/// Whether `table` is removed by one of the `clone_data_exclude` names. A name ending in `*`
/// (`sys_user*`, `sys_user.*`) matches by prefix; exclusions cascade to child tables, so the
/// conservative reading is taken.
pub fn excluded_by(table: &str, excludes: &[String]) -> Option<String> {
    excludes
        .iter()
        .find(|e| {
            let e = e.trim();
            match e.strip_suffix('*') {
                Some(prefix) => table.starts_with(prefix.trim_end_matches('.')),
                None => e == table,
            }
        })
        .cloned()
}

/// A clone request still to run. The documented clone states (docs: clone-states) are Requested,
/// Scheduled, Active, Draft and Hold before or during a clone, and Completed, Canceled, Error and
/// the rollback states after it; an unknown state counts as pending.
pub fn is_pending(request: &CloneRequest) -> bool {
    let s = request.state.trim().to_ascii_lowercase();
    !(matches!(
        s.as_str(),
        "completed" | "complete" | "cancelled" | "canceled" | "error" | "failed"
    ) || s.starts_with("roll"))
}

/// Whether a `clone_instance.target_instance` value names this target: its config name, its
/// URL, its host, or the host's first label (`acmedev` for `acmedev.service-now.com`).
pub fn names_instance(value: &str, instance: &InstanceEvidence) -> bool {
    let v = value.trim().trim_end_matches('/').to_ascii_lowercase();
    if v.is_empty() {
        return false;
    }
    let url = instance.url.trim_end_matches('/').to_ascii_lowercase();
    let host = url.split("://").nth(1).unwrap_or(&url).to_string();
    let label = host.split('.').next().unwrap_or(&host).to_string();
    let v_host = v.split("://").nth(1).unwrap_or(&v).to_string();
    v == instance.name.to_ascii_lowercase() || v == url || v_host == host || v == label
}

/// Which preservers run in the clone onto one target, and which target rows they keep.
#[derive(Debug, Clone, PartialEq)]
pub struct ClonePlan {
    pub target: String,
    /// sys_ids of the preservers that apply.
    pub applicable: BTreeSet<String>,
    /// Preservers that do not apply, with the reason.
    pub not_applied: BTreeMap<String, String>,
    /// User tables removed by `clone_data_exclude`, with the matching exclusion.
    pub excluded: BTreeMap<String, String>,
    /// Target rows kept, per user table (sys_ids).
    pub kept: BTreeMap<String, BTreeSet<String>>,
    /// The pending clone request this plan follows, if any.
    pub request: Option<CloneRequest>,
    /// The profile the clone uses, as its sys_id, when one decides.
    pub profile: Option<String>,
}

impl ClonePlan {
    pub fn applicable_on<'p>(
        &self,
        preservers: &'p [Preserver],
        table: &str,
    ) -> Vec<&'p Preserver> {
        preservers
            .iter()
            .filter(|p| p.table == table && self.applicable.contains(&p.sys_id))
            .collect()
    }
}

/// Decides which preservers apply to the clone onto `target` (PRODUCT.md 2.1 step 1) and which
/// of the target's rows they keep.
pub fn plan(source: &InstanceEvidence, target: &InstanceEvidence) -> Result<ClonePlan, Unreadable> {
    let clone = source.clone.as_ref().ok_or_else(|| Unreadable {
        table: "clone_data_preserver".into(),
        reason: "the source's clone set-up was not collected".into(),
    })?;
    let preservers = clone.preservers.as_result()?;
    let excludes = clone.excludes.as_result()?;
    let requests = clone.clone_requests.as_result()?;
    let profiles = clone.profiles.as_result()?;

    let request = requests
        .iter()
        .filter(|r| is_pending(r) && names_instance(&r.target_instance, target))
        .max_by(|a, b| a.created_on.cmp(&b.created_on))
        .cloned();
    let preserve_theme = request
        .as_ref()
        .and_then(|r| r.preserve_theme)
        .unwrap_or(false);

    // The profile that decides: the request's. A request without a profile takes every
    // preserver (docs system-profile-clone). With no request, the default profile; with profiles
    // but no default, any profile could be used: a preserver must then be in all of them.
    let any_profile_rule = request.is_none() && !profiles.is_empty();
    let profile = match &request {
        Some(r) if !r.profile.is_empty() => Some(r.profile.clone()),
        Some(_) => None,
        None => profiles
            .iter()
            .find(|p| p.default_profile == Some(true))
            .map(|p| p.sys_id.clone()),
    };
    // The profile-to-preserver links matter only when a profile decides.
    let empty = Vec::new();
    let links = if profile.is_some() || any_profile_rule {
        clone.profile_preservers.as_result()?
    } else {
        &empty
    };
    let in_profile = |p: &Preserver, profile: &str| {
        links
            .iter()
            .any(|l| l.profile == profile && l.preserver == p.sys_id)
    };

    let mut applicable = BTreeSet::new();
    let mut not_applied = BTreeMap::new();
    for p in preservers {
        let reason = if p.include_in_system_clone == Some(false) {
            Some("switched off (include_in_system_clone is false)".to_string())
        } else if p.theme == Some(true) && !preserve_theme {
            Some("a theme preserver, and this clone does not preserve the theme".to_string())
        } else if let Some(profile) = &profile {
            if in_profile(p, profile) {
                None
            } else {
                let name = profiles
                    .iter()
                    .find(|x| &x.sys_id == profile)
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| profile.clone());
                Some(format!("not listed in the clone profile \"{name}\""))
            }
        } else if any_profile_rule && !profiles.iter().all(|x| in_profile(p, &x.sys_id)) {
            Some(
                "not listed in every clone profile, and no request or default profile says which one the clone uses"
                    .to_string(),
            )
        } else {
            None
        };
        let reason = reason.or_else(|| {
            let r = request.as_ref()?;
            (r.lock_settings == Some(true)
                && !p.created_on.is_empty()
                && !r.created_on.is_empty()
                && p.created_on > r.created_on)
                .then(|| "created after the clone request locked its settings".to_string())
        });
        match reason {
            Some(r) => {
                not_applied.insert(p.sys_id.clone(), r);
            }
            None => {
                applicable.insert(p.sys_id.clone());
            }
        }
    }

    let mut excluded = BTreeMap::new();
    for t in USER_TABLES {
        if let Some(e) = excluded_by(t, excludes) {
            excluded.insert(t.to_string(), e);
        }
    }

    let mut kept: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for eval in &target.preserver_evals {
        if !applicable.contains(&eval.preserver) {
            continue;
        }
        let matched = eval.matched.as_result()?;
        kept.entry(eval.table.clone())
            .or_default()
            .extend(matched.iter().cloned());
    }
    // Every applicable preserver on a user table, or on the class table of one of the target's
    // MID users, must have been evaluated on this target.
    let classes = class_tables(target);
    for p in preservers {
        if applicable.contains(&p.sys_id)
            && (USER_TABLES.contains(&p.table.as_str()) || classes.contains(p.table.as_str()))
            && !target
                .preserver_evals
                .iter()
                .any(|e| e.preserver == p.sys_id)
        {
            return Err(Unreadable {
                table: p.table.clone(),
                reason: format!(
                    "preserver \"{}\" was not evaluated on {}",
                    p.name, target.name
                ),
            });
        }
    }
    // Preservers do not reach child classes: only `sys_user` records are kept by a `sys_user`
    // preserver (an empty class name is read as `sys_user`); a child-class user is kept by a
    // preserver on its own class table ([`user_table_of`]).
    if let (Some(ids), Fact::Ok { value: users }) = (kept.get_mut("sys_user"), &target.users) {
        ids.retain(|id| {
            users
                .iter()
                .find(|u| &u.sys_id == id)
                .map(|u| u.sys_class_name.is_empty() || u.sys_class_name == "sys_user")
                .unwrap_or(true)
        });
    }

    Ok(ClonePlan {
        target: target.name.clone(),
        applicable,
        not_applied,
        excluded,
        kept,
        request,
        profile,
    })
}

/// The table that holds a user's record: its class (`u_mid_service_account`), or `sys_user`
/// when the class is `sys_user` or not known.
pub fn user_table_of(user: &User) -> &str {
    match user.sys_class_name.trim() {
        "" => "sys_user",
        c => c,
    }
}

/// The class tables of an instance's users that are not `sys_user` (children of it), whose
/// preservers keep those users.
pub fn class_tables(inst: &InstanceEvidence) -> BTreeSet<&str> {
    inst.users
        .get()
        .map(|us| {
            us.iter()
                .map(user_table_of)
                .filter(|t| *t != "sys_user")
                .collect()
        })
        .unwrap_or_default()
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
    /// Why the containment of the roles users hold could not all be read
    /// ([`InstanceEvidence::held_role_contains`]), if it could not.
    pub held_unread: Option<Unreadable>,
    /// `mid_server` and the roles containing it, computed once on first use (the tables above
    /// are complete by then).
    granting: std::sync::OnceLock<BTreeSet<String>>,
    /// Rows by user and group, built once on first use.
    index: std::sync::OnceLock<Index>,
}

/// Keys of the rows of each user and group, so per-user questions do not scan whole tables.
#[derive(Debug, Clone, Default, PartialEq)]
struct Index {
    /// sys_ids of the users with each user_name ([`login_key`]).
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
        inst: &InstanceEvidence,
        origin: Origin,
        keep: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(), Unreadable> {
        self.users.extend(by_id(
            inst.users.as_result()?,
            |r| &r.sys_id,
            origin,
            |r| keep(user_table_of(r), &r.sys_id),
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

    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut ix = Index::default();
            for (k, (u, _)) in &self.users {
                ix.users
                    .entry(login_key(&u.user_name))
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

    /// The role rows of a group itself (not of its parents), whatever their `inherits`.
    fn group_role_rows<'w>(&'w self, group: &str) -> impl Iterator<Item = &'w GroupRole> + 'w {
        let keys = self
            .index()
            .group_roles
            .get(group)
            .map(Vec::as_slice)
            .unwrap_or_default();
        keys.iter()
            .filter_map(|k| self.group_roles.get(k).map(|(g, _)| g))
    }

    /// The users with this user_name, compared case-insensitively ([`login_key`]).
    pub fn users_named(&self, user_name: &str) -> Vec<(&User, Origin)> {
        let keys = self
            .index()
            .users
            .get(&login_key(user_name))
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
            if !self.groups.contains_key(&g) {
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

    /// How the user holds `mid_server` effectively, or `None`. Inherited rows are the platform's
    /// cache and prove nothing; grant rows in a state other than `active` are not grants; a
    /// group passes a role to its members only by a row whose `inherits` is true. `None` can
    /// also mean unknown: see [`World::mid_grant_unknown`].
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

    /// Why it is unknown whether the user holds `mid_server`: no certain grant, but one of its
    /// groups would grant it through a row whose `inherits` is unknown.
    pub fn mid_grant_unknown(&self, user_sys_id: &str) -> Option<Unreadable> {
        if self.mid_grant(user_sys_id).is_some() {
            return None;
        }
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
        let granting = self.mid_granting_roles();
        let by_row = self
            .roles_of(&user.sys_id)
            .any(|r| granting.contains(&r.role));
        by_row
            || self.mid_grant(&user.sys_id).is_some()
            || self.mid_grant_unknown(&user.sys_id).is_some()
    }

    /// The sys_ids of every role the user is granted in this state: by its own grant rows and
    /// by its groups (with their ancestors) through rows whose `inherits` is true; and apart,
    /// the roles group rows with an unknown `inherits` may grant. Contained roles are not
    /// followed (see [`World::contained`]).
    pub fn granted_roles(&self, user_sys_id: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut sure: BTreeSet<String> = self
            .roles_of(user_sys_id)
            .filter(|r| r.state.is_empty() || r.state == "active")
            .map(|r| r.role.clone())
            .collect();
        let mut maybe = BTreeSet::new();
        for m in self.memberships_of(user_sys_id) {
            if !self.groups.contains_key(&m.group) {
                continue;
            }
            for g in self.ancestry(&m.group) {
                if !self.groups.contains_key(&g) {
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
