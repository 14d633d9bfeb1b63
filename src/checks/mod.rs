//! The check catalogue and the pure judging of evidence. One file per family; [`run`] judges a
//! whole evidence document and returns every result, passes included, sorted.

mod catalogue;
mod coverage;
mod exposure;
mod preservers;
mod survival;

pub use catalogue::{find, CheckDef, CheckId, Family, CATALOGUE};
pub(crate) use survival::{is_mid_role_holder, mid_server_logins, used_by};

use crate::evidence::{Evidence, InstanceEvidence, Unreadable};
use crate::finding::{CheckResult, Severity, Status, Subject};
use std::collections::BTreeMap;

/// Judges the evidence: every check of the catalogue on every subject it applies to.
pub fn run(evidence: &Evidence) -> Vec<CheckResult> {
    let mut out = Vec::new();
    survival::judge(evidence, &mut out);
    preservers::judge(evidence, &mut out);
    exposure::judge(evidence, &mut out);
    coverage::judge(evidence, &mut out);
    sort(&mut out);
    out
}

/// Sorts results: status (fail, error, waived, pass), severity (highest first), instance, check
/// id (alphabetically), subject name, subject sys_id.
pub fn sort(results: &mut [CheckResult]) {
    results.sort_by(|a, b| {
        (
            a.status,
            std::cmp::Reverse(a.severity),
            &a.instance,
            a.check.as_str(),
            &a.subject.name,
            &a.subject.sys_id,
        )
            .cmp(&(
                b.status,
                std::cmp::Reverse(b.severity),
                &b.instance,
                b.check.as_str(),
                &b.subject.name,
                &b.subject.sys_id,
            ))
    });
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
        message: String,
        remediation: String,
        evidence: BTreeMap<String, String>,
    ) -> CheckResult {
        CheckResult {
            check: self.def.id,
            severity,
            status,
            instance: self.instance.to_string(),
            subject,
            message,
            remediation,
            evidence,
            waiver: None,
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
        self.result(
            Status::Error,
            self.def.max_severity,
            subject,
            format!("could not be decided: {} unreadable ({})", why.table, why.reason),
            format!(
                "make {} readable to the audit user (run `preclone doctor`), then run the audit again",
                why.table
            ),
            Ev::new().with("table", &why.table).with("reason", &why.reason).0,
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
            BTreeMap::new(),
        )
    }
}

/// Evidence lines of a result, built fluently.
#[derive(Default)]
pub(crate) struct Ev(BTreeMap<String, String>);

impl Ev {
    pub(crate) fn new() -> Self {
        Ev(BTreeMap::new())
    }

    pub(crate) fn with(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.0.insert(key.to_string(), value.as_ref().to_string());
        self
    }
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
