//! What changed since a baseline (`--baseline PREVIOUS.json`): the mark a result carries, what
//! the gate counts (`--gate-on`), and the report's baseline section. Plain data; the comparison
//! itself is [`super::baseline`].

use crate::finding::{CheckResult, Severity, Status, Subject};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr};

/// How a result compares with the baseline's result for the same check, instance and subject.
/// A pass, and a waived result, carry no mark (PRODUCT.md section 3, `--baseline`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, IntoStaticStr, Display, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Change {
    /// A fail or error now whose baseline result was absent, a pass or waived.
    New,
    /// A fail or error in the baseline and now.
    Unchanged,
    /// A fail or error of the baseline that now passes, or that this run no longer reports.
    Resolved,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// `--gate-on`: which unwaived fails the gate counts. Errors count either way (exit 2 unless
/// `--allow-incomplete`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    IntoStaticStr,
    Display,
    JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum GateOn {
    /// Every unwaived fail at or above `--fail-on`.
    #[default]
    All,
    /// Only the unwaived fails at or above `--fail-on` that are new since the baseline.
    New,
}

impl GateOn {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the gate counts `result` (its severity aside): every error, and every fail
    /// unless only new ones count.
    pub fn counts(self, result: &CheckResult) -> bool {
        self == GateOn::All || result.status != Status::Fail || result.change == Some(Change::New)
    }
}

/// A fail or error of the baseline for which this run has no result at all (its subject was
/// deleted, or the check no longer reports it), as the baseline recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GoneResult {
    /// The check id, as the baseline wrote it.
    pub check: String,
    /// The severity in the baseline.
    pub severity: Severity,
    /// The status in the baseline: `fail` or `error`.
    pub status: Status,
    /// The instance, by the name this run gives it (matched by URL).
    pub instance: String,
    pub subject: Subject,
    /// The baseline's message.
    pub message: String,
    /// `resolved` when this run read the instance in full; `unchanged` when it did not (a
    /// result missing from a partial read is never counted as fixed).
    pub change: Change,
}

/// The report's comparison with its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BaselineSummary {
    /// The baseline file, as given to `--baseline`.
    pub file: String,
    /// The baseline's run id.
    pub run_id: String,
    /// When the baseline's run started.
    pub started_at: DateTime<Utc>,
    /// The baseline's report schema version (1 or later).
    pub schema_version: u32,
    /// Results marked `new` (fails and errors).
    pub new: usize,
    /// Results marked `unchanged`, and gone results not counted as resolved.
    pub unchanged: usize,
    /// Results marked `resolved`, and gone results counted as resolved.
    pub resolved: usize,
    /// Fails and errors of the baseline with no result in this run, sorted like the results.
    pub gone: Vec<GoneResult>,
}
