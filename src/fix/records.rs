//! Which records close which gaps. First the repairs: a MID-related preserver that will not run
//! (`preserver-not-applied`) is switched on, its theme flag cleared where the clone does not
//! preserve the theme, and linked into every profile the clones use, unless it is over-broad
//! or uses `MATCH_RGX` (a manual step then); so is a preserver on `sys_user_certificate` or
//! `ecc_agent_cluster` that matches a row its check fails but does not run ([`mid_level`]).
//! Then the additions: every user table, MID user's class table, certificate or cluster table
//! whose MID rows no applicable preserver keeps gets the recommended preserver (an existing
//! one with that condition repaired, or a new one).

use super::{mid_level, Change, FixError, Link, PreserverFix};
use crate::checks::{advice, CheckId, Ctx};
use crate::evidence::{CloneProfile, Evidence, Preserver, ProfilePreserver};
use crate::finding::{CheckResult, Status};
use crate::query;
use crate::simulate::{class_table, ClonePlan};
use crate::tables::{self, SYS_USER_GRMEMBER, SYS_USER_HAS_ROLE};
use std::collections::{BTreeMap, BTreeSet};

/// The condition fix writes on a MID user's class table: its users that hold `mid_server`. A
/// class table extends `sys_user`, so it has `roles`.
pub(super) const CLASS_CONDITION: &str = "roles=mid_server";

/// Checks whose fix is no preserver: each failing one is a manual step.
pub(super) const BY_HAND: [CheckId; 4] = [
    CheckId::MidGroupLacksRoleInSource,
    CheckId::MidGroupMissingInSource,
    CheckId::MidRoleIdDiffers,
    CheckId::MidCertificateExpiring,
];

/// Login results a kept row closes: their subject is the target's user record.
const LOGIN_CHECKS: [CheckId; 4] = [
    CheckId::MidUserNotPreserved,
    CheckId::MidUserSurvivesBySourceCopy,
    CheckId::MidRoleNotPreserved,
    CheckId::MidMembershipNotPreserved,
];

/// Refuses evidence in which a table fix needs could not be read: the preservers, the
/// profiles and their links, the clone requests and the `instance` records they name.
pub(super) fn needed_tables(e: &Evidence) -> Result<(), FixError> {
    let source = e.source().ok_or(FixError::NoSource)?;
    let setup = source.clone.as_ref().ok_or(FixError::NoSource)?;
    let unread = [
        setup.preservers.err(),
        setup.profiles.err(),
        setup.profile_preservers.err(),
        setup.clone_requests.err(),
        setup.console_requests.err(),
        setup.target_records.err(),
    ];
    match unread.into_iter().flatten().next() {
        Some((table, reason)) => Err(FixError::Unreadable {
            instance: source.name.clone(),
            table: table.to_string(),
            reason: reason.to_string(),
        }),
        None => Ok(()),
    }
}

/// The source's clone set-up as fix reads it, with the clones simulated.
pub(super) struct Scope<'e> {
    pub(super) ctx: Ctx<'e>,
    pub(super) evidence: &'e Evidence,
    pub(super) preservers: &'e [Preserver],
    links: &'e [ProfilePreserver],
    profiles: &'e [CloneProfile],
    /// The profiles a preserver must be listed in: the profile of every pending request onto
    /// an audited target, and the default profile.
    relevant: Vec<String>,
}

impl<'e> Scope<'e> {
    fn new(e: &'e Evidence) -> Option<Scope<'e>> {
        let setup = e.source()?.clone.as_ref()?;
        let ctx = Ctx::new(e);
        let profiles = setup.profiles.get()?.as_slice();
        let mut relevant: Vec<String> = Vec::new();
        for t in &e.targets {
            for c in ctx.clones_onto(t) {
                let profile = match (&c.request, &c.plan) {
                    (Some(r), _) => r.profile.clone(),
                    (None, Ok(plan)) => plan.profile.clone().unwrap_or_default(),
                    (None, Err(_)) => String::new(),
                };
                if !profile.is_empty() && !relevant.contains(&profile) {
                    relevant.push(profile);
                }
            }
        }
        if let Some(d) = profiles.iter().find(|p| p.default_profile == Some(true)) {
            if !relevant.contains(&d.sys_id) {
                relevant.push(d.sys_id.clone());
            }
        }
        Some(Scope {
            preservers: setup.preservers.get()?.as_slice(),
            links: setup.profile_preservers.get()?.as_slice(),
            profiles,
            relevant,
            evidence: e,
            ctx,
        })
    }

    /// Every clone onto an audited target whose plan could be made.
    fn plans<'s>(&'s self) -> impl Iterator<Item = &'s ClonePlan> + use<'s, 'e> {
        self.evidence
            .targets
            .iter()
            .flat_map(|t| self.ctx.clones_onto(t))
            .filter_map(|c| c.plan.as_ref().ok())
    }

    /// New links of `preserver` into every relevant profile that does not list it.
    fn missing_links(&self, preserver: &str, new_id: &mut dyn FnMut() -> String) -> Vec<Link> {
        self.relevant
            .iter()
            .filter(|profile| {
                !self
                    .links
                    .iter()
                    .any(|l| &l.profile == *profile && l.preserver == preserver)
            })
            .map(|profile| Link {
                sys_id: new_id(),
                profile: profile.clone(),
                profile_name: self
                    .profiles
                    .iter()
                    .find(|p| &p.sys_id == profile)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }
}

pub(super) fn failing(
    results: &[CheckResult],
    check: CheckId,
) -> impl Iterator<Item = &CheckResult> {
    results
        .iter()
        .filter(move |r| r.check == check && r.status == Status::Fail)
}

/// The step for a preserver that will not run because its condition uses `MATCH_RGX`, if it
/// does: fix never switches such a preserver on.
pub(super) fn regex_step(p: &Preserver) -> Option<String> {
    p.condition.contains("MATCH_RGX").then(|| format!(
        "Preserver \"{}\" on {} will not run: its condition uses MATCH_RGX, which preserver conditions do not support. Fix leaves it as it is: rewrite its condition without MATCH_RGX, or delete it once the preservers fix writes are imported.",
        p.name, p.table
    ))
}

/// Why fix leaves a preserver that will not run as it is, if it does: switching it on would
/// recommend a condition that another check fails.
fn left_alone(p: &Preserver, before: &[CheckResult]) -> Option<String> {
    if let Some(step) = regex_step(p) {
        return Some(step);
    }
    let broad = before.iter().any(|r| {
        r.check == CheckId::PreserverOverbroad
            && r.subject.sys_id == p.sys_id
            && matches!(r.status, Status::Fail | Status::Waived)
    });
    broad.then(|| format!(
        "Preserver \"{}\" on {} will not run, and it is over-broad (preserver-overbroad): fix does not switch it on. Narrow its condition to the MID-related rows before you let it run, or delete it once the preservers fix writes are imported.",
        p.name, p.table
    ))
}

/// The repair of `p`, where it needs one: switched on, its theme flag cleared where some clone
/// does not preserve the theme, and linked into every relevant profile that lacks it.
fn repair(
    scope: &Scope,
    p: &Preserver,
    keeps: String,
    manual: &mut Vec<String>,
    new_id: &mut dyn FnMut() -> String,
) -> Option<PreserverFix> {
    let mut q = p.clone();
    let mut changed = Vec::new();
    if q.include_in_system_clone == Some(false) {
        q.include_in_system_clone = Some(true);
        changed.push("include_in_system_clone true".to_string());
    }
    if q.theme == Some(true)
        && scope
            .plans()
            .any(|plan| plan.options.preserve_theme != Some(true))
    {
        q.theme = Some(false);
        changed.push("theme false".to_string());
    }
    if !changed.is_empty() && !super::xml::can_carry(&q) {
        manual.push(format!(
            "Preserver \"{}\" on {} holds characters an XML file cannot carry, so fix cannot write its update: on the source, set {} on it by hand.",
            p.name,
            p.table,
            changed.join(" and ")
        ));
        q = p.clone();
        changed.clear();
    }
    let links = scope.missing_links(&p.sys_id, new_id);
    if changed.is_empty() && links.is_empty() {
        return None;
    }
    Some(PreserverFix {
        preserver: q,
        change: (!changed.is_empty()).then_some(Change::Update(changed)),
        links,
        keeps,
        notes: notes(&p.table, &p.condition),
        closes: Vec::new(),
    })
}

/// The repairs of the MID-related preservers that will not run (`preserver-not-applied`).
pub(super) fn repairs(
    e: &Evidence,
    before: &[CheckResult],
    manual: &mut Vec<String>,
    new_id: &mut dyn FnMut() -> String,
) -> Vec<PreserverFix> {
    let Some(scope) = Scope::new(e) else {
        return Vec::new();
    };
    let mut out: Vec<PreserverFix> = Vec::new();
    for r in failing(before, CheckId::PreserverNotApplied) {
        let Some(p) = scope
            .preservers
            .iter()
            .find(|p| p.sys_id == r.subject.sys_id)
        else {
            continue;
        };
        // The cluster and certificate preservers are judged below, by what they keep.
        if out.iter().any(|f| f.preserver.sys_id == p.sys_id)
            || crate::tables::is_mid_level(&p.table)
        {
            continue;
        }
        if let Some(why) = left_alone(p, before) {
            manual.push(why);
            continue;
        }
        let keeps = format!(
            "on each target, the rows of {} that its condition ({}) matches, the MID-related ones among them",
            p.table,
            shown(&p.condition)
        );
        out.extend(repair(&scope, p, keeps, manual, new_id));
    }
    for (p, keeps) in mid_level::to_repair(&scope, before, manual) {
        if !out.iter().any(|f| f.preserver.sys_id == p.sys_id) {
            out.extend(repair(&scope, p, keeps, manual, new_id));
        }
    }
    out
}

/// The recommended preservers for the tables that still lack one, given the evidence with the
/// repairs in (`e`) and its results: an existing preserver with the recommended condition is
/// repaired (unless `done` already holds it), otherwise a new one is made at `stamp`.
pub(super) fn additions(
    e: &Evidence,
    results: &[CheckResult],
    done: &[PreserverFix],
    stamp: &str,
    manual: &mut Vec<String>,
    new_id: &mut dyn FnMut() -> String,
) -> Vec<PreserverFix> {
    let Some(scope) = Scope::new(e) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for table in gaps(&scope, results) {
        let Some(condition) = recommended(&table) else {
            continue;
        };
        let existing = scope
            .preservers
            .iter()
            .find(|p| p.table == table && query::strip_eq(&p.condition).trim() == condition);
        match existing {
            Some(p) if done.iter().any(|f| f.preserver.sys_id == p.sys_id) => {}
            Some(p) => out.extend(repair(&scope, p, keeps(&table), manual, new_id)),
            None => out.push(create(&scope, &table, condition, stamp, new_id)),
        }
    }
    out
}

/// The recommended condition on `table` (PRODUCT.md section 4): the seed article's on its three
/// tables, the users holding `mid_server` on a MID user's class table, and on the certificate
/// and cluster tables [`mid_level::recommended`]'s.
fn recommended(table: &str) -> Option<&'static str> {
    advice::seed_condition(table)
        .or_else(|| mid_level::recommended(table))
        .or_else(|| tables::class_table(table).map(|_| CLASS_CONDITION))
}

/// The tables some MID rows of a target lack a preserver on: those `preserver-missing` names,
/// for every login that fails a survival check a preserver closes, the tables whose rows of
/// that user no applicable preserver keeps under some clone, and the certificate and cluster
/// tables whose failing rows none keeps.
fn gaps(scope: &Scope, results: &[CheckResult]) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = failing(results, CheckId::PreserverMissing)
        .map(|r| r.subject.name.to_string())
        .collect();
    out.extend(mid_level::gaps(scope, results));
    let failing_logins: BTreeSet<(&str, &str)> = results
        .iter()
        .filter(|r| r.status == Status::Fail && LOGIN_CHECKS.contains(&r.check))
        .map(|r| (r.instance.as_str(), r.subject.sys_id.as_str()))
        .collect();
    for t in scope.evidence.target_instances() {
        let (Some(users), Ok(today)) = (t.users.get(), scope.ctx.today(t)) else {
            continue;
        };
        let granting = today.mid_granting_roles();
        let judged = users
            .iter()
            .filter(|u| failing_logins.contains(&(t.name.as_str(), u.sys_id.as_str())));
        for u in judged {
            for plan in scope
                .ctx
                .clones_onto(&t.name)
                .into_iter()
                .filter_map(|c| c.plan.as_ref().ok())
            {
                let kept =
                    |table: &str, id: &str| plan.kept.get(table).is_some_and(|k| k.contains(id));
                let class = class_table(u);
                if !kept(class, &u.sys_id) {
                    out.insert(class.to_string());
                }
                if today.roles_of(&u.sys_id).any(|r| {
                    granting.contains(r.role.as_str()) && !kept(SYS_USER_HAS_ROLE.name, &r.sys_id)
                }) {
                    out.insert(SYS_USER_HAS_ROLE.name.to_string());
                }
                if today
                    .memberships_of(&u.sys_id)
                    .any(|m| !kept(SYS_USER_GRMEMBER.name, &m.sys_id))
                {
                    out.insert(SYS_USER_GRMEMBER.name.to_string());
                }
            }
        }
    }
    out
}

/// A new preserver on `table` with `condition`, made at `stamp`, in the global scope, linked
/// into every relevant profile.
fn create(
    scope: &Scope,
    table: &str,
    condition: &str,
    stamp: &str,
    new_id: &mut dyn FnMut() -> String,
) -> PreserverFix {
    let sys_id = new_id();
    let base = match table {
        "sys_user" => "MID server users".to_string(),
        "sys_user_has_role" => "MID server user has role".to_string(),
        "sys_user_grmember" => "MID server user group membership".to_string(),
        other => match mid_level::name(other) {
            Some(name) => name.to_string(),
            None => format!("MID server users ({other})"),
        },
    };
    let name = if scope.preservers.iter().any(|p| p.name == base) {
        format!("{base} (preclone)")
    } else {
        base
    };
    let metadata: BTreeMap<String, String> = [
        ("sys_class_name", "clone_data_preserver".to_string()),
        ("sys_name", name.clone()),
        ("sys_package", "global".to_string()),
        ("sys_policy", String::new()),
        ("sys_scope", "global".to_string()),
        ("sys_update_name", format!("clone_data_preserver_{sys_id}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let links = scope.missing_links(&sys_id, new_id);
    PreserverFix {
        preserver: Preserver {
            sys_id,
            name,
            table: table.to_string(),
            condition: condition.to_string(),
            include_in_system_clone: Some(true),
            theme: Some(false),
            created_on: stamp.to_string(),
            default: Some(false),
            metadata,
        },
        change: Some(Change::Create),
        links,
        keeps: keeps(table),
        notes: notes(table, condition),
        closes: Vec::new(),
    }
}

/// What the recommended preserver on `table` keeps.
fn keeps(table: &str) -> String {
    if let Some(k) = mid_level::keeps(table) {
        return k.to_string();
    }
    match table {
        "sys_user" => "on each target, the users that hold mid_server (the MID users), which the clone would otherwise replace with the source's".to_string(),
        "sys_user_has_role" => "on each target, the role rows of the users that hold mid_server, so that they keep it".to_string(),
        "sys_user_grmember" => "on each target, the group memberships of the users that hold mid_server".to_string(),
        class => format!("on each target, the users of class {class} that hold mid_server: a sys_user preserver does not keep a child class's records, only a preserver on {class} does"),
    }
}

/// The notes beside a preserver on `table` with `condition`: why fix chose the condition on the
/// certificate and cluster tables, and the dot-walk's cost on the user tables.
fn notes(table: &str, condition: &str) -> Vec<String> {
    if let Some(notes) = mid_level::notes(table, condition) {
        return notes;
    }
    if query::is_dot_walked(condition) {
        vec![format!(
            "Its condition is {}: the legacy in-app clone engine, used only where a clone falls back to it, cannot apply a dot-walk.",
            advice::DOT_WALK_NOTE
        )]
    } else {
        Vec::new()
    }
}

/// A condition as the text shows it.
pub(super) fn shown(condition: &str) -> &str {
    if condition.trim().is_empty() {
        "none: every row"
    } else {
        condition
    }
}

/// The steps no record takes: each failing check of [`BY_HAND`], once per subject, with what
/// its result says to do.
pub(super) fn by_hand(before: &[CheckResult]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    before
        .iter()
        .filter(|r| r.status == Status::Fail && BY_HAND.contains(&r.check))
        .filter(|r| {
            seen.insert((
                r.check,
                r.instance.clone(),
                r.subject.sys_id.clone(),
                r.subject.name.clone(),
            ))
        })
        .map(|r| {
            let what = match r.check {
                CheckId::MidGroupLacksRoleInSource => "a group that grants nothing in the source",
                CheckId::MidGroupMissingInSource => "a group that will not exist after the clone",
                CheckId::MidCertificateExpiring => {
                    "a certificate that is inactive or expires soon, which no preserver renews"
                }
                _ => "a role or group whose sys_id differs between the instances",
            };
            format!(
                "{what} ({} on {}, {} \"{}\"): {}. To do: {}",
                r.check, r.instance, r.subject.table, r.subject.name, r.message, r.remediation
            )
        })
        .collect()
}
