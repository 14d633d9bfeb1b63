//! One clone onto a target, planned (PRODUCT.md 2.1 steps 1 and 2): which preservers apply,
//! which tables the clone empties as it applies the exclusion list, and which of the target's
//! rows the applicable preservers keep.

use super::requests::{self, label, CloneOptions, CloneSpec};
use crate::evidence::{
    CloneRequest, Fact, InstanceEvidence, Preserver, ProfilePreserver, Unreadable, User,
    USER_TABLES,
};
use crate::tables::{is_mid_level, MID_LEVEL};
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, BTreeSet};

/// Whether `table` is removed by one of the `clone_data_exclude` names. A name ending in `*`
/// (`sys_user*`, `sys_user.*`) matches by prefix; exclusions cascade to child tables, so the
/// conservative reading is taken.
pub fn excluded_by<'a>(table: &str, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    names
        .into_iter()
        .find(|e| {
            let e = e.trim();
            match e.strip_suffix('*') {
                Some(prefix) => table.starts_with(prefix.trim_end_matches('.')),
                None => !e.is_empty() && e == table,
            }
        })
        .map(|e| e.trim().to_string())
}

/// The table a user's record lives in: its class (`sys_user` when the class is empty).
pub fn class_table(u: &User) -> &str {
    match u.sys_class_name.as_str() {
        "" => "sys_user",
        class => class,
    }
}

/// The child-class tables of the MID users of `insts` (their `sys_class_name` when it is not
/// `sys_user`).
pub fn class_tables(insts: &[&InstanceEvidence]) -> BTreeSet<String> {
    insts
        .iter()
        .filter_map(|i| i.users.get())
        .flatten()
        .map(class_table)
        .filter(|c| *c != "sys_user")
        .map(str::to_string)
        .collect()
}

/// Which preservers run in one clone onto a target, and which target rows they keep.
#[derive(Debug, Clone, PartialEq)]
pub struct ClonePlan {
    pub target: String,
    /// sys_ids of the preservers that apply.
    pub applicable: BTreeSet<String>,
    /// Preservers that do not apply, with the reason.
    pub not_applied: BTreeMap<String, String>,
    /// Tables the clone empties (user tables and the MID users' class tables), with the
    /// exclusion that removes each.
    pub excluded: BTreeMap<String, String>,
    /// Target rows kept, per user table (sys_ids).
    pub kept: BTreeMap<String, BTreeSet<String>>,
    /// The tables of [`MID_LEVEL`] (MID Server clusters, the MID users' certificate rows) that
    /// the clone empties, with the exclusion that removes each (an exclusion of a parent table
    /// removes its children). Which of their rows are kept is read from the target's
    /// evaluations by the checks that need them.
    pub mid_excluded: BTreeMap<String, String>,
    /// The pending clone request this plan follows; `None` for the clone requested today.
    pub request: Option<CloneRequest>,
    /// The profile the clone uses, as its sys_id, when one decides.
    pub profile: Option<String>,
    /// The options it clones with.
    pub options: CloneOptions,
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

    /// How results name the clone; `None` for the clone requested today.
    pub fn label(&self) -> Option<String> {
        self.request.as_ref().map(label)
    }
}

/// Why a locked request does not take a preserver, or why that cannot be told: `Ok(None)` when
/// it takes it. `link` is the preserver's link into the request's profile, when one decides.
fn locked_out(
    request: &CloneRequest,
    requested: NaiveDateTime,
    p: &Preserver,
    link: Option<&ProfilePreserver>,
) -> Result<Option<String>, String> {
    let who = label(request);
    let created = requests::time(&p.created_on)
        .ok_or_else(|| format!("the creation time of preserver \"{}\" is unknown, and {who} locked its profile settings", p.name))?;
    if created > requested {
        return Ok(Some(format!(
            "created after {who} locked its profile settings"
        )));
    }
    let Some(link) = link else {
        return Ok(None);
    };
    let linked = requests::time(&link.created_on).ok_or_else(|| {
        format!("when preserver \"{}\" was linked into the profile is unknown, and {who} locked its profile settings", p.name)
    })?;
    Ok((linked > requested)
        .then(|| format!("linked into the profile after {who} locked its profile settings")))
}

/// Decides which preservers apply to one clone onto `target` (PRODUCT.md 2.1 steps 1 and 2),
/// which tables it empties and which of the target's rows the preservers keep. Unknown is never
/// "applies": an unknown lock state, or an unknown creation or link time under a lock, makes the
/// plan unreadable, naming the request.
pub fn plan(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    spec: &CloneSpec,
) -> Result<ClonePlan, Unreadable> {
    let clone = source.clone.as_ref().ok_or_else(|| Unreadable {
        table: "clone_data_preserver".into(),
        reason: "the source's clone set-up was not collected".into(),
    })?;
    let preservers = clone.preservers.as_result()?;
    let excludes = clone.excludes.as_result()?;
    let profiles = clone.profiles.as_result()?;
    let request = spec.request();

    // The profile that decides and the options: the request's (a request without a profile
    // takes every preserver). With no request, the default profile where one exists, else
    // every preserver, with the options unknown.
    let (profile, options) = match request {
        Some(r) => (
            Some(r.profile.clone()).filter(|p| !p.is_empty()),
            CloneOptions::of_request(r),
        ),
        None => match profiles.iter().find(|p| p.default_profile == Some(true)) {
            Some(p) => (Some(p.sys_id.clone()), CloneOptions::of_profile(p)),
            None => (None, CloneOptions::default()),
        },
    };
    // A locked request: the time it was made, which must be known.
    let lock = match request {
        Some(r) => match r.lock_profile_settings {
            Some(true) => Some(requests::time(&r.created_on).ok_or_else(|| Unreadable {
                table: r.table.name().into(),
                reason: format!("{} locked its profile settings, and when it was made is unknown", label(r)),
            })?),
            Some(false) => None,
            None => {
                return Err(Unreadable {
                    table: r.table.name().into(),
                    reason: format!(
                        "whether {} locks its profile settings is unknown (lock_profile_settings is neither true nor false)",
                        label(r)
                    ),
                })
            }
        },
        None => None,
    };
    // The profile-to-preserver links matter only when a profile decides.
    let links = match &profile {
        Some(_) => clone.profile_preservers.as_result()?.as_slice(),
        None => &[],
    };
    let link_of = |p: &Preserver| -> Option<&ProfilePreserver> {
        let profile = profile.as_deref()?;
        links
            .iter()
            .find(|l| l.profile == profile && l.preserver == p.sys_id)
    };
    let mut simulated: BTreeSet<String> = USER_TABLES.iter().map(|t| t.to_string()).collect();
    let classes = class_tables(&[source, target]);
    simulated.extend(classes.iter().cloned());

    let mut applicable = BTreeSet::new();
    let mut not_applied = BTreeMap::new();
    for p in preservers {
        let mut reason = if p.include_in_system_clone == Some(false) {
            Some("switched off (include_in_system_clone is false)".to_string())
        } else if p.condition.contains("MATCH_RGX") {
            Some(
                "its condition uses MATCH_RGX, which preserver conditions do not support"
                    .to_string(),
            )
        } else if p.theme == Some(true) && options.preserve_theme != Some(true) {
            Some("a theme preserver, and this clone does not preserve the theme".to_string())
        } else if let (Some(profile), None) = (&profile, link_of(p)) {
            let name = profiles
                .iter()
                .find(|x| &x.sys_id == profile)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| profile.clone());
            Some(format!("not listed in the clone profile \"{name}\""))
        } else {
            None
        };
        if let (None, Some(r), Some(requested)) = (&reason, request, lock) {
            match locked_out(r, requested, p, link_of(p)) {
                Ok(why) => reason = why,
                // Only a preserver the simulation uses leaves the plan undecided.
                Err(why) if simulated.contains(&p.table) || is_mid_level(&p.table) => {
                    return Err(Unreadable {
                        table: r.table.name().into(),
                        reason: why,
                    })
                }
                Err(why) => reason = Some(why),
            }
        }
        match reason {
            Some(r) => {
                not_applied.insert(p.sys_id.clone(), r);
            }
            None => {
                applicable.insert(p.sys_id.clone());
            }
        }
    }

    // Exclusions as this clone applies the list: default ones always (an unknown flag counts
    // as default), the custom ones as the options say.
    let custom = options.custom_exclusions_apply();
    let names: Vec<&str> = excludes
        .iter()
        .filter(|e| e.default != Some(false) || custom)
        .flat_map(|e| [e.name.as_str(), e.table.as_str()])
        .collect();
    let mut excluded = BTreeMap::new();
    for t in &simulated {
        if let Some(e) = excluded_by(t, names.iter().copied()) {
            excluded.insert(t.clone(), format!("\"{e}\""));
        }
    }
    let mut mid_excluded = BTreeMap::new();
    for t in MID_LEVEL {
        // sys_user_certificate extends sys_certificate.
        let parent = (t.name == "sys_user_certificate").then_some("sys_certificate");
        let hit = excluded_by(t.name, names.iter().copied())
            .or_else(|| parent.and_then(|p| excluded_by(p, names.iter().copied())));
        if let Some(e) = hit {
            mid_excluded.insert(t.name.to_string(), format!("\"{e}\""));
        }
    }
    // Excluding sys_user excludes its child classes too.
    if let Some(e) = excluded.get("sys_user").cloned() {
        for c in &classes {
            excluded
                .entry(c.clone())
                .or_insert_with(|| format!("{e}, through sys_user, its parent"));
        }
    }

    let mut kept: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for eval in &target.preserver_evals {
        // The MID Server tables' evaluations are read by the checks that need them: one that
        // failed leaves only those undecided.
        if !applicable.contains(&eval.preserver) || is_mid_level(&eval.table) {
            continue;
        }
        let matched = eval.matched.as_result()?;
        kept.entry(eval.table.clone())
            .or_default()
            .extend(matched.iter().cloned());
    }
    // Every applicable preserver on a user table, or on the class table of one of the target's
    // MID users, must have been evaluated on this target.
    let target_classes = class_tables(&[target]);
    for p in preservers {
        if applicable.contains(&p.sys_id)
            && (USER_TABLES.contains(&p.table.as_str()) || target_classes.contains(&p.table))
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
    // preserver (an empty class name is read as `sys_user`).
    if let (Some(ids), Fact::Ok { value: users }) = (kept.get_mut("sys_user"), &target.users) {
        // Each sys_id's class, its first record's (the reversed collect keeps the first).
        let class: BTreeMap<&str, &str> = users
            .iter()
            .rev()
            .map(|u| (u.sys_id.as_str(), u.sys_class_name.as_str()))
            .collect();
        ids.retain(|id| {
            class
                .get(id.as_str())
                .is_none_or(|c| c.is_empty() || *c == "sys_user")
        });
    }

    Ok(ClonePlan {
        target: target.name.clone(),
        applicable,
        not_applied,
        excluded,
        kept,
        mid_excluded,
        request: request.cloned(),
        profile,
        options,
    })
}
