//! What every check reads besides the evidence, computed once per run: each instance's tables as
//! they stand today, and for each clone onto a target its plan and the tables after it.
//!
//! Building a [`World`] copies every user-table row of an instance, so the checks never build
//! one themselves: they ask the context.

use super::facts::{used_by, UsedBy};
use crate::evidence::{Evidence, InstanceEvidence, Unreadable};
use crate::simulate::{self, ClonePlan, World};
use std::collections::BTreeMap;

/// Which clone of a target a simulation follows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RequestKey {
    /// No pending clone request names the target (or the plan could not be made): the profile
    /// rules without a request decide.
    NoRequest,
    /// The pending `clone_instance` request with this sys_id.
    Request(String),
}

/// One clone onto a target, simulated.
#[derive(Debug)]
pub struct SimulatedClone {
    /// Which preservers run and which target rows they keep.
    pub plan: Result<ClonePlan, Unreadable>,
    /// The target's user tables after the clone (the plan's error when there is no plan).
    pub after: Result<World, Unreadable>,
}

/// The judging context of one run.
pub struct Ctx<'e> {
    pub evidence: &'e Evidence,
    today: BTreeMap<&'e str, Result<World, Unreadable>>,
    /// Keyed by target and clone request. Today a target has one entry, for the newest pending
    /// request that names it; a run that judges every pending request adds one entry each.
    clones: BTreeMap<(&'e str, RequestKey), SimulatedClone>,
    used: BTreeMap<&'e str, UsedBy>,
}

impl<'e> Ctx<'e> {
    pub fn new(evidence: &'e Evidence) -> Self {
        let today = evidence
            .instances
            .values()
            .map(|inst| (inst.name.as_str(), World::today(inst)))
            .collect();
        let used = evidence
            .instances
            .values()
            .map(|inst| (inst.name.as_str(), used_by(inst)))
            .collect();
        let mut clones = BTreeMap::new();
        if let Some(source) = evidence.source() {
            // Every instance but the source is one the source could be cloned onto.
            for inst in evidence
                .instances
                .values()
                .filter(|i| i.name != source.name)
            {
                let plan = simulate::plan(source, inst);
                let after = match &plan {
                    Ok(plan) => World::after_clone(source, inst, plan),
                    Err(e) => Err(e.clone()),
                };
                let key = match plan.as_ref().ok().and_then(|p| p.request.as_ref()) {
                    Some(r) => RequestKey::Request(r.sys_id.clone()),
                    None => RequestKey::NoRequest,
                };
                clones.insert((inst.name.as_str(), key), SimulatedClone { plan, after });
            }
        }
        Ctx {
            evidence,
            today,
            clones,
            used,
        }
    }

    /// The instance's tables today, or why they could not be read.
    pub fn today(&self, inst: &InstanceEvidence) -> Result<&World, Unreadable> {
        match self.today.get(inst.name.as_str()) {
            Some(Ok(w)) => Ok(w),
            Some(Err(e)) => Err(e.clone()),
            // Every instance the checks judge is one of the evidence's.
            None => Err(Unreadable {
                table: "sys_user".into(),
                reason: format!("{} is not in the evidence", inst.name),
            }),
        }
    }

    /// The clone onto `target` (its one simulated request), or `None` without a source.
    pub fn clone_onto(&self, target: &str) -> Option<&SimulatedClone> {
        self.clones
            .iter()
            .find(|((name, _), _)| *name == target)
            .map(|(_, c)| c)
    }

    /// The plan of the clone onto `target`.
    pub fn plan(&self, target: &str) -> Option<Result<&ClonePlan, &Unreadable>> {
        self.clone_onto(target).map(|c| c.plan.as_ref())
    }

    /// The target's tables after the clone.
    pub fn after(&self, target: &str) -> Option<Result<&World, &Unreadable>> {
        self.clone_onto(target).map(|c| c.after.as_ref())
    }

    /// Logins used by the instance's MID Servers: user_name (in any case) → MID Server names.
    pub fn used_by(&self, inst: &InstanceEvidence) -> &UsedBy {
        static NONE: UsedBy = UsedBy::new();
        self.used.get(inst.name.as_str()).unwrap_or(&NONE)
    }
}
