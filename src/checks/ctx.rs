//! What every check reads besides the evidence, computed once per run: each instance's tables as
//! they stand today, and for each clone onto a target its plan and the tables after it.
//!
//! Building a [`World`] indexes every user-table row of an instance (and works out who holds
//! `mid_server` once asked), so the checks never build one themselves: they ask the context.

use super::facts::{used_by, UsedBy};
use crate::evidence::{CloneRequest, Evidence, InstanceEvidence, Unreadable};
use crate::simulate::{self, ClonePlan, CloneSpec, World};
use std::collections::BTreeMap;

/// Which clone of a target a simulation follows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RequestKey {
    /// No pending clone request names the target (or which ones do could not be told): the
    /// clone that would be requested today.
    NoRequest,
    /// The pending request (`clone_instance` or `sn_instance_clone_request`) with this sys_id.
    Request(String),
}

/// One clone onto a target, simulated.
#[derive(Debug)]
pub struct SimulatedClone<'e> {
    /// The pending request it follows; `None` for the clone requested today.
    pub request: Option<CloneRequest>,
    /// Which preservers run and which target rows they keep.
    pub plan: Result<ClonePlan, Unreadable>,
    /// The target's user tables after the clone (the plan's error when there is no plan).
    pub after: Result<World<'e>, Unreadable>,
}

/// The judging context of one run.
pub struct Ctx<'e> {
    pub evidence: &'e Evidence,
    today: BTreeMap<&'e str, Result<World<'e>, Unreadable>>,
    /// Keyed by target and clone request: one entry per pending request naming the target, or
    /// one for the clone requested today.
    clones: BTreeMap<(&'e str, RequestKey), SimulatedClone<'e>>,
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
            // Every instance but the source is one the source could be cloned onto, once per
            // pending request naming it (PRODUCT.md 2.1 step 0).
            for inst in evidence
                .instances
                .values()
                .filter(|i| i.name != source.name)
            {
                let specs = match &source.clone {
                    Some(setup) => simulate::clones_onto(setup, inst),
                    None => Ok(vec![CloneSpec::Today]),
                };
                let specs = match specs {
                    Ok(specs) => specs,
                    Err(e) => {
                        let clone = SimulatedClone {
                            request: None,
                            plan: Err(e.clone()),
                            after: Err(e),
                        };
                        clones.insert((inst.name.as_str(), RequestKey::NoRequest), clone);
                        continue;
                    }
                };
                for spec in specs {
                    let plan = simulate::plan(source, inst, &spec);
                    let after = match &plan {
                        Ok(plan) => World::after_clone(source, inst, plan),
                        Err(e) => Err(e.clone()),
                    };
                    let key = match spec.request() {
                        Some(r) => RequestKey::Request(r.sys_id.clone()),
                        None => RequestKey::NoRequest,
                    };
                    let request = spec.request().cloned();
                    let clone = SimulatedClone {
                        request,
                        plan,
                        after,
                    };
                    clones.insert((inst.name.as_str(), key), clone);
                }
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
    pub fn today(&self, inst: &InstanceEvidence) -> Result<&World<'e>, Unreadable> {
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

    /// Every clone onto `target` (one per pending request naming it, else the clone requested
    /// today), the soonest scheduled first; none without a source.
    pub fn clones_onto(&self, target: &str) -> Vec<&SimulatedClone<'e>> {
        let mut clones: Vec<&SimulatedClone<'e>> = self
            .clones
            .iter()
            .filter(|((name, _), _)| *name == target)
            .map(|(_, c)| c)
            .collect();
        clones.sort_by_key(|c| {
            c.request
                .as_ref()
                .map(|r| (r.scheduled.is_empty(), r.scheduled.clone()))
        });
        clones
    }

    /// Logins used by the instance's MID Servers: user_name (in any case) → MID Server names.
    pub fn used_by(&self, inst: &InstanceEvidence) -> &UsedBy {
        static NONE: UsedBy = UsedBy::new();
        self.used.get(inst.name.as_str()).unwrap_or(&NONE)
    }
}

impl SimulatedClone<'_> {
    /// How results name the clone (its request); `None` for the clone requested today.
    pub fn label(&self) -> Option<String> {
        self.request.as_ref().map(simulate::label)
    }
}
