//! The check catalogue and the pure judging of evidence. One file (or folder) per family; [`run`]
//! builds the [`Ctx`] once and judges a whole evidence document: every result, passes included,
//! the MID Servers that will go down, and the inventory.

pub(crate) mod advice;
mod catalogue;
mod coverage;
mod ctx;
mod exposure;
mod facts;
mod inventory;
mod per_clone;
mod preservers;
mod prod_mid;
mod survival;

pub use catalogue::{find, CheckDef, CheckId, Family, CATALOGUE};
pub use ctx::{Ctx, RequestKey, SimulatedClone};
pub use facts::UsedBy;
pub use inventory::{InstanceInventory, MidServerInventory, UserInventory};

use crate::evidence::{Evidence, InstanceEvidence, Unreadable};
use crate::finding::{CheckResult, EvidenceMap, Severity, Status, Subject};
use serde::Serialize;

/// Everything the judging of one evidence document found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// Every check on every subject it applies to, in the order judged (see [`sort`]).
    pub results: Vec<CheckResult>,
    /// The MID users and MID Servers of the source, then of each target.
    pub inventory: Vec<InstanceInventory>,
    /// The MID Servers that will go down, one per failing `mid-server-will-go-down` result.
    pub impact: Vec<ServerImpact>,
}

/// A MID Server of a target that will not log in after the clone, as `mid-server-will-go-down`
/// found it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerImpact {
    pub instance: String,
    /// The MID Server: the subject of its `mid-server-will-go-down` result.
    pub mid_server: Subject,
    /// Its status today (`Up`, `Down` ...).
    pub status: String,
    /// The login that will fail.
    pub user_name: String,
    /// Why: `user not kept: ...`, `role lost: ...` or `certificate not kept: ...`.
    pub because: String,
    /// The clusters it is a member of, by name; `None` when it is in none (or they could not
    /// be read).
    pub cluster: Option<String>,
}

/// Judges the evidence: every check of the catalogue on every subject it applies to.
pub fn run(evidence: &Evidence) -> Judgement {
    // Subjects, instances and evidence values, each stored once however many results name them.
    let _pool = crate::shared_text::Pool::new();
    let ctx = Ctx::new(evidence);
    let mut results = Vec::new();
    let mut impact = Vec::new();
    survival::judge(&ctx, &mut results, &mut impact);
    preservers::judge(&ctx, &mut results);
    exposure::judge(&ctx, &mut results);
    prod_mid::judge(&ctx, &mut results);
    coverage::judge(evidence, &mut results);
    Judgement {
        results,
        inventory: inventory::inventory(&ctx),
        impact,
    }
}

/// Sorts results: status (fail, error, waived, pass), severity (highest first), instance, check
/// id (alphabetically), subject name, subject sys_id. Stable.
pub fn sort(results: &mut [CheckResult]) {
    fn key(r: &CheckResult) -> (Status, std::cmp::Reverse<Severity>, &str, &str, &str, &str) {
        (
            r.status,
            std::cmp::Reverse(r.severity),
            &r.instance,
            r.check.as_str(),
            &r.subject.name,
            &r.subject.sys_id,
        )
    }
    // Sorting positions moves integers, not whole results; then each result moves once.
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| key(&results[a]).cmp(&key(&results[b])));
    // Result `order[i]` goes to `i`: follow each cycle of the permutation, swapping along it.
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != at {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            results.swap(at, from);
            at = from;
        }
    }
}

/// Builds results for one check with its catalogue text.
pub(crate) struct Judge<'a> {
    def: &'static CheckDef,
    instance: &'a str,
}

impl<'a> Judge<'a> {
    pub(crate) fn new(id: CheckId, instance: &'a str) -> Self {
        Judge {
            def: id.def(),
            instance,
        }
    }

    fn result(
        &self,
        status: Status,
        severity: Severity,
        subject: Subject,
        mut message: String,
        mut remediation: String,
        mut evidence: EvidenceMap,
    ) -> CheckResult {
        // Some 84,000 results on a large estate: each keeps no more room than its text takes.
        message.shrink_to_fit();
        remediation.shrink_to_fit();
        evidence.shrink_to_fit();
        CheckResult {
            check: self.def.id,
            severity,
            status,
            instance: crate::shared_text::shared(self.instance),
            subject,
            message,
            remediation,
            evidence,
            waiver: None,
            cause: None,
            change: None,
        }
    }

    pub(crate) fn pass(
        &self,
        subject: Subject,
        message: impl Into<String>,
        evidence: Ev,
    ) -> CheckResult {
        self.result(
            Status::Pass,
            self.def.severity,
            subject,
            message.into(),
            String::new(),
            evidence.0,
        )
    }

    pub(crate) fn fail(
        &self,
        subject: Subject,
        message: impl Into<String>,
        remediation: impl Into<String>,
        evidence: Ev,
    ) -> CheckResult {
        self.fail_at(self.def.severity, subject, message, remediation, evidence)
    }

    pub(crate) fn fail_at(
        &self,
        severity: Severity,
        subject: Subject,
        message: impl Into<String>,
        remediation: impl Into<String>,
        evidence: Ev,
    ) -> CheckResult {
        let mut remediation = remediation.into();
        if remediation.is_empty() {
            remediation = self.def.remediation.to_string();
        }
        self.result(
            Status::Fail,
            severity,
            subject,
            message.into(),
            remediation,
            evidence.0,
        )
    }

    /// Could not decide: severity is the highest the check can reach, so the gate sees it.
    pub(crate) fn error(&self, subject: Subject, why: &Unreadable) -> CheckResult {
        // A preserver condition too long to evaluate is not a matter of read access.
        let (message, remediation) = if why.reason.contains(crate::query::TOO_LONG) {
            (
                format!("could not be decided: {}", why.reason),
                "on the source, shorten that preserver's condition (fewer ^NQ groups, or split it into several preservers), then run the audit again".to_string(),
            )
        } else {
            (
                format!("could not be decided: {} unreadable ({})", why.table, why.reason),
                format!(
                    "make {} readable to the audit user (run `preclone doctor`), then run the audit again",
                    why.table
                ),
            )
        };
        self.result(
            Status::Error,
            self.def.max_severity,
            subject,
            message,
            remediation,
            Ev::new()
                .with("table", &why.table)
                .with("reason", &why.reason)
                .0,
        )
    }

    /// Could not decide, for a reason that is not an unreadable table.
    pub(crate) fn undecided(
        &self,
        subject: Subject,
        message: impl Into<String>,
        remediation: impl Into<String>,
    ) -> CheckResult {
        self.result(
            Status::Error,
            self.def.max_severity,
            subject,
            message.into(),
            remediation.into(),
            EvidenceMap::new(),
        )
    }
}

/// Evidence lines of a result, built fluently.
#[derive(Default)]
pub(crate) struct Ev(EvidenceMap);

impl Ev {
    pub(crate) fn new() -> Self {
        Ev(EvidenceMap::new())
    }

    pub(crate) fn with(mut self, key: &'static str, value: impl AsRef<str>) -> Self {
        self.0.insert(key, value.as_ref());
        self
    }
}

/// A result that would be a `fail` but rests on a fact that is unknown: an `error` (at the
/// highest severity its check can reach, so the gate sees it) that says why and what it would
/// have been. Other results are returned as they are.
pub(crate) fn undecided_unless_known(
    mut r: CheckResult,
    why: &str,
    remediation: &str,
) -> CheckResult {
    if r.status != Status::Fail {
        return r;
    }
    r.status = Status::Error;
    r.severity = r.check.def().max_severity;
    r.message = format!("could not be decided: {why}; were it known, {}", r.message);
    r.remediation = remediation.to_string();
    r.evidence.insert("undecided_because", why);
    r
}

/// Why a user's results that depend on whether it is active are undecided, and what to do.
pub(crate) fn unknown_active(u: &crate::evidence::User) -> (String, &'static str) {
    (
        format!(
            "active of {} ({}) was not returned, and an inactive MID user is only inventory",
            u.user_name, u.sys_id
        ),
        "make sys_user.active readable to the audit user (run `preclone doctor`), then run the audit again",
    )
}

pub(crate) fn user_subject(table_user: &crate::evidence::User) -> Subject {
    Subject::new("sys_user", &table_user.sys_id, &table_user.user_name)
}

pub(crate) fn instance_subject(inst: &InstanceEvidence) -> Subject {
    Subject::new("instance", "", &inst.name)
}

pub(crate) fn table_subject(table: &str) -> Subject {
    Subject::new("sys_db_object", "", table)
}
