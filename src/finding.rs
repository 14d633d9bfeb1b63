//! Severities, statuses and result rows: the vocabulary shared by checks, waivers and reports.

use crate::checks::CheckId;
pub use crate::evidence_map::EvidenceMap;
use crate::shared_text::{shared, Shared};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

/// How bad a failing check is. Ordered from least to most severe so `>=` reads naturally.
#[derive(Serialize, Deserialize, JsonSchema, IntoStaticStr, EnumString, Display)]
#[serde(rename_all = "lowercase")]
#[strum(
    serialize_all = "lowercase",
    parse_err_ty = String,
    parse_err_fn = unknown_severity
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

fn unknown_severity(s: &str) -> String {
    format!("unknown severity {s:?}: use critical, high, medium, low or info")
}

impl Severity {
    /// Most severe first, as reports list them.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The `--fail-on` threshold: a severity, or `never`.
#[derive(
    Serialize, Deserialize, JsonSchema, clap::ValueEnum, IntoStaticStr, EnumString, Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(
    serialize_all = "lowercase",
    parse_err_ty = String,
    parse_err_fn = unknown_fail_on
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    Info,
    Never,
}

fn unknown_fail_on(s: &str) -> String {
    format!("unknown fail-on level {s:?}: use critical, high, medium, low, info or never")
}

impl FailOn {
    /// The lowest severity that trips the gate, or `None` for `never`.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::High => Some(Severity::High),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::Low => Some(Severity::Low),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The outcome of one check on one subject.
#[derive(Serialize, Deserialize, JsonSchema, IntoStaticStr, Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Fail,
    Error,
    Waived,
    Pass,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a result is about: a row (table + sys_id) and the name people know it by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Subject {
    /// The table the subject lives in (`sys_user`, `ecc_agent`, `clone_data_preserver`, ...),
    /// or `instance` when the subject is an instance.
    #[schemars(with = "String")]
    pub table: Shared,
    /// The subject's sys_id where it has one; empty otherwise.
    #[schemars(with = "String")]
    pub sys_id: Shared,
    /// user_name, group name, preserver name, table name, role name, instance or MID Server name.
    #[schemars(with = "String")]
    pub name: Shared,
}

impl Subject {
    /// Each text shared with every other result naming it while the checks run
    /// ([`crate::shared_text`]).
    pub fn new(table: &str, sys_id: &str, name: &str) -> Self {
        Subject {
            table: shared(table),
            sys_id: shared(sys_id),
            name: shared(name),
        }
    }
}

/// The waiver that turned a `fail` into `waived`, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AppliedWaiver {
    pub reason: String,
    pub approver: String,
    /// `YYYY-MM-DD`; the waiver holds to the end of that day, UTC.
    pub expires: String,
}

/// Why a result is `error`: whose table (or login) failed, and the kind of failure, which
/// decides the fix. Results that share a cause and an instance are one problem to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ErrorCause {
    pub kind: crate::evidence::Cause,
    /// The instance whose table could not be read (or that could not be read at all), which
    /// need not be the result's own instance.
    pub instance: String,
    /// The table that could not be read; empty when the cause is not one table.
    pub table: String,
    /// What the instance answered, or what was missing.
    pub reason: String,
}

/// Which result a [`CheckResult`] is, whatever it found: its check, instance and subject.
pub(crate) type ResultKey = (CheckId, Shared, Shared, Shared, Shared);

impl CheckResult {
    /// Its [`ResultKey`] (cheap: the strings are shared).
    pub(crate) fn key(&self) -> ResultKey {
        (
            self.check,
            self.instance.clone(),
            self.subject.table.clone(),
            self.subject.sys_id.clone(),
            self.subject.name.clone(),
        )
    }
}

/// One row of the verdict: a check judged on one subject of one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CheckResult {
    /// The stable check id (kebab-case in JSON).
    pub check: CheckId,
    pub severity: Severity,
    pub status: Status,
    /// The instance name the user gave (config name or URL).
    #[schemars(with = "String")]
    pub instance: Shared,
    pub subject: Subject,
    pub message: String,
    pub remediation: String,
    /// The facts the verdict rests on, as short named strings (sorted, stable).
    pub evidence: EvidenceMap,
    // Boxed here and in `cause`: few results carry one, and a result without takes a word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Box<AppliedWaiver>>,
    /// On an `error`, why it could not be decided (set when the report is built).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<ErrorCause>>,
    /// With `--baseline`, on a fail or error (`new`, `unchanged`) or on a pass that was a fail or
    /// error (`resolved`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<crate::report::Change>,
}
