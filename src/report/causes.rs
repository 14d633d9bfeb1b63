//! Why results could not be decided. A check that could not decide names a table and a reason;
//! this traces each `error` to the instance whose table (or login) failed and the kind of
//! failure, and gives it the fix that follows from that kind (PRODUCT.md section 6, honesty
//! rules). The checks do not know whose table it was: a check of prod may rest on test's
//! memberships. The evidence does: every unreadable fact sits in the instance it was read from.

use super::model::ReadState;
use super::text::{fix_text, strip_instance};
use crate::checks::CheckId;
use crate::evidence::{Cause, Evidence, Fact, InstanceEvidence, TableRead};
use crate::finding::{CheckResult, ErrorCause, Status};
use serde_json::Value;
use std::collections::BTreeMap;

/// How much of one instance was read: `stopped` when the run stopped after its first requests
/// (exit 4), in which case an instance whose own first request failed is `Failed` and every
/// other one `NotRead`.
pub(super) fn read_state(inst: &InstanceEvidence, stopped: bool) -> ReadState {
    if stopped {
        return match first_request_failure(inst) {
            Some(_) => ReadState::Failed,
            None => ReadState::NotRead,
        };
    }
    let full = inst
        .coverage
        .iter()
        .all(|t| t.error.is_none() && t.hidden_rows == 0);
    if full {
        ReadState::Complete
    } else {
        ReadState::Incomplete
    }
}

/// The kind and reason of an instance's failed first request (the `mid_server` role read), when
/// it failed in a way that stops a run.
fn first_request_failure(inst: &InstanceEvidence) -> Option<(Cause, &str)> {
    let (_, reason) = inst.mid_role.err()?;
    let kind = Cause::of_reason(reason);
    matches!(kind, Cause::Credentials | Cause::Unreachable | Cause::Html).then_some((kind, reason))
}

/// The kind of a coverage row's gap: as the client recorded it, else from its reason; hidden
/// rows are an ACL's doing.
pub(super) fn row_cause(t: &TableRead) -> Option<Cause> {
    match &t.error {
        Some(e) => Some(t.cause.unwrap_or_else(|| Cause::of_reason(e))),
        None if t.hidden_rows > 0 => Some(Cause::Acl),
        None => None,
    }
}

/// An unreadable fact, where it was found.
struct Unread {
    owner: String,
    table: String,
    reason: String,
}

/// Every unreadable fact of every instance. The walk goes over the serialised evidence, so a
/// fact added to the evidence later is found without a change here.
fn unread_facts(evidence: &Evidence) -> Vec<Unread> {
    fn walk(v: &Value, owner: &str, out: &mut Vec<Unread>) {
        match v {
            Value::Object(m) if m.get("status").is_some_and(|s| s == "error") => {
                let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                out.push(Unread {
                    owner: owner.to_string(),
                    table: text("table"),
                    reason: text("reason"),
                });
            }
            Value::Object(m) => m.values().for_each(|v| walk(v, owner, out)),
            Value::Array(a) => a.iter().for_each(|v| walk(v, owner, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (name, inst) in &evidence.instances {
        if let Ok(v) = serde_json::to_value(inst) {
            walk(&v, name, &mut out);
        }
    }
    // Keep the types honest: a `Fact::Error` serialises as the walk expects.
    debug_assert!(matches!(
        serde_json::to_value(Fact::<()>::error("t", "r")).ok(),
        Some(Value::Object(m)) if m.get("status").is_some_and(|s| s == "error")
    ));
    out
}

/// What the attribution needs from the evidence.
struct Scene<'a> {
    evidence: &'a Evidence,
    facts: Vec<Unread>,
    read: &'a BTreeMap<String, ReadState>,
    /// The instance the run stopped at, with the kind and reason of its failure.
    stopper: Option<(&'a str, Cause, &'a str)>,
}

impl Scene<'_> {
    /// Instance names in display order: the source, then the targets.
    fn order(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.evidence.source.as_str())
            .chain(self.evidence.targets.iter().map(String::as_str))
    }

    fn coverage(&self, instance: &str, table: &str) -> Option<&TableRead> {
        self.evidence
            .instances
            .get(instance)?
            .coverage
            .iter()
            .find(|t| t.table == table)
    }

    /// The instance whose `table` failed with `reason`: the result's own when it is one of
    /// them, else the first in display order; the result's own when none is found (a reason
    /// the checks composed themselves).
    fn owner<'s>(&'s self, result: &'s str, table: &str, reason: &'s str) -> (&'s str, &'s str) {
        let candidates: Vec<&Unread> = self
            .facts
            .iter()
            .filter(|f| f.table == table && !f.reason.is_empty() && reason.contains(&f.reason))
            .collect();
        let found = candidates.iter().find(|f| f.owner == result).or_else(|| {
            self.order()
                .find_map(|name| candidates.iter().find(|f| f.owner == name))
        });
        match found {
            Some(f) => (f.owner.as_str(), f.reason.as_str()),
            None => (result, reason),
        }
    }

    fn kind(&self, owner: &str, table: &str, reason: &str) -> Cause {
        match self.coverage(owner, table) {
            Some(t) if t.error.as_deref() == Some(reason) => {
                row_cause(t).unwrap_or_else(|| Cause::of_reason(reason))
            }
            Some(t) if t.error.is_none() && t.hidden_rows > 0 && reason.contains("hidden") => {
                Cause::Acl
            }
            _ => Cause::of_reason(reason),
        }
    }

    /// The cause of one `error` result and, when its message is the checks' standard one, whose
    /// table it was (`prod's clone_data_preserver`), for the message to name.
    fn cause(&self, r: &CheckResult) -> (ErrorCause, Option<String>) {
        let table = r.evidence.get("table");
        let reason = r.evidence.get("reason");
        let (mut cause, standard) =
            if matches!(r.check, CheckId::TableUnreadable | CheckId::RowsHiddenByAcl) {
                let row = self.coverage(&r.instance, &r.subject.name);
                let reason = row
                    .and_then(|t| t.error.clone())
                    .unwrap_or_else(|| r.message.clone());
                let kind = row.and_then(row_cause).unwrap_or(Cause::of_reason(&reason));
                let cause = ErrorCause {
                    kind,
                    instance: r.instance.to_string(),
                    table: r.subject.name.to_string(),
                    reason,
                };
                (cause, None)
            } else if let (Some(table), Some(reason)) = (table, reason) {
                let (owner, fact_reason) = self.owner(&r.instance, table, reason);
                let cause = ErrorCause {
                    kind: self.kind(owner, table, fact_reason),
                    instance: owner.to_string(),
                    table: table.to_string(),
                    reason: reason.to_string(),
                };
                let standard =
                    r.message == format!("could not be decided: {table} unreadable ({reason})");
                (cause, standard.then(|| format!("{owner}'s {table}")))
            } else {
                let cause = ErrorCause {
                    kind: Cause::UnknownValue,
                    instance: r.instance.to_string(),
                    table: String::new(),
                    reason: r.message.clone(),
                };
                (cause, None)
            };
        // After an instance failed its first request, every gap is that failure's doing.
        if let Some((stopper, kind, why)) = self.stopper {
            let owner_unread = matches!(
                self.read.get(&cause.instance),
                Some(ReadState::Failed | ReadState::NotRead)
            );
            if owner_unread || cause.kind == Cause::NotRead {
                cause = ErrorCause {
                    kind,
                    instance: stopper.to_string(),
                    table: String::new(),
                    reason: strip_instance(why, stopper).to_string(),
                };
            }
        }
        (cause, standard)
    }
}

/// Gives every `error` result its [`ErrorCause`] and the fix that follows from it; a result
/// whose message is the checks' standard "could not be decided" also names the instance whose
/// table it was.
pub(super) fn attribute(
    evidence: &Evidence,
    read: &BTreeMap<String, ReadState>,
    results: &mut [CheckResult],
) {
    if !results.iter().any(|r| r.status == Status::Error) {
        return;
    }
    let stopper = std::iter::once(&evidence.source)
        .chain(&evidence.targets)
        .filter(|n| read.get(*n) == Some(&ReadState::Failed))
        .find_map(|n| {
            let inst = evidence.instances.get(n)?;
            let (kind, why) = first_request_failure(inst)?;
            Some((n.as_str(), kind, why))
        });
    let scene = Scene {
        evidence,
        facts: unread_facts(evidence),
        read,
        stopper,
    };
    for r in results.iter_mut().filter(|r| r.status == Status::Error) {
        let (cause, whose) = scene.cause(r);
        if let Some(whose) = whose {
            let reason = r.evidence.get("reason").unwrap_or_default().to_string();
            r.message = format!("could not be decided: {whose} unreadable ({reason})");
        }
        if cause.kind != Cause::UnknownValue {
            let tables: Vec<&str> = Some(cause.table.as_str())
                .filter(|t| !t.is_empty())
                .into_iter()
                .collect();
            r.remediation = fix_text(cause.kind, &cause.instance, &tables);
        }
        r.cause = Some(Box::new(cause));
    }
}
