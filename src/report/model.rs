//! The one Report every format renders: plain serialisable data, built once per run.

use crate::evidence::{Cause, InstanceRole, ProductionOrigin};
use crate::exit::Exit;
use crate::finding::{CheckResult, FailOn, Severity, Status};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strum::{Display, IntoStaticStr};

pub use super::change::{BaselineSummary, Change, GateOn, GoneResult};
pub use crate::checks::{InstanceInventory, MidServerInventory, UserInventory};
pub use crate::waivers::{WaiverState, WaiverStatus};

/// Version of the JSON report's shape (`docs/report.schema.json`, written from [`report_schema`]).
/// Version 3 added the comparison with a baseline (`baseline`, `gate.gate_on`, `change`).
pub const REPORT_SCHEMA_VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// An instance as the report header shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct InstanceInfo {
    /// The name the user gave: config name or URL.
    pub name: String,
    pub url: String,
    #[schemars(schema_with = "role_schema")]
    pub role: InstanceRole,
    pub production: Option<bool>,
    /// Where `production` came from: the config, the instance's property, or neither.
    #[schemars(schema_with = "origin_schema")]
    pub production_origin: ProductionOrigin,
    pub build_tag: Option<String>,
    pub audit_user: Option<String>,
    /// How much of the instance was read.
    pub read: ReadState,
}

/// How much of one instance the run read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, IntoStaticStr, Display, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ReadState {
    /// Every table read in full.
    Complete,
    /// Read, but some table could not be read or had rows hidden by ACLs (see the coverage).
    Incomplete,
    /// Its first request failed (credentials refused, unreachable, an HTML page): nothing read.
    Failed,
    /// Not read: the run stopped at another instance first.
    NotRead,
}

impl ReadState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What the gate concluded.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, IntoStaticStr, Display, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    Incomplete,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The CI gate's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Gate {
    pub fail_on: FailOn,
    pub allow_incomplete: bool,
    pub verdict: Verdict,
    pub exit_code: Exit,
    /// One sentence: why this verdict.
    pub reason: String,
    /// Whether the gate could be decided: every check that could reach `fail_on` was decided
    /// and every instance could be read (true when the gate is off).
    pub decided: bool,
    /// Which unwaived fails the gate counted: `all`, or only those `new` since the baseline.
    #[serde(default)]
    pub gate_on: GateOn,
}

/// Counts of results by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub waived: usize,
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::Waived => self.waived += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.error + self.waived
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Summary {
    /// Keyed by severity name (`critical` .. `info`); every severity is present.
    #[schemars(schema_with = "by_severity_schema")]
    pub by_severity: BTreeMap<Severity, Counts>,
    pub totals: Counts,
    /// Number of distinct checks in the catalogue that were run.
    pub checks: usize,
    pub results: usize,
    pub requests: u64,
    pub duration_ms: u64,
    /// True when every table of every instance was read in full (none unreadable, no rows
    /// hidden), whatever `fail_on`; whether the gate could be decided is `gate.decided`.
    pub evidence_complete: bool,
}

/// A MID Server of a target that will not log in after the clone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Impact {
    pub instance: String,
    pub mid_server: String,
    pub status: String,
    pub user_name: String,
    pub because: String,
    /// `fail` or `waived`.
    pub result_status: Status,
    /// The MID Server clusters it is a member of, by name; null when none.
    #[serde(default)]
    pub cluster: Option<String>,
}

/// A MID Server cluster of a target some of whose members will be down after the clone (a
/// `mid-cluster-will-go-down` result): the cluster lines under the impact table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ClusterImpact {
    pub instance: String,
    pub cluster: String,
    /// `Failover`, `Load Balance`; empty when unknown.
    pub cluster_type: String,
    pub members: u64,
    /// Members down after the clone: those it brings down and those already down.
    pub down: u64,
    /// `Failover cluster DISC-EU: 2 of 2 members down`.
    pub line: String,
    /// `fail` or `waived` when every member will be down, `pass` when one keeps working.
    pub result_status: Status,
}

/// A MID Server of a target whose `mid-server-will-go-down` could not be decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct UndecidedServer {
    pub instance: String,
    /// The MID Server; `None` when the target's MID Servers could not be listed at all.
    pub mid_server: Option<String>,
    /// Why not decided, in a few words (`prod's clone_data_preserver: read denied by an ACL`).
    pub why: String,
    pub cause: Option<crate::finding::ErrorCause>,
}

/// How one table was read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, IntoStaticStr, Display, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum CoverageStatus {
    /// Read, every counted row arrived.
    Ok,
    /// Read, but fewer rows arrived than the instance counted.
    HiddenRows,
    /// Not read.
    Unreadable,
}

impl CoverageStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One table of one instance in the coverage section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CoverageRow {
    pub instance: String,
    pub table: String,
    pub requests: u64,
    pub rows: u64,
    pub hidden_rows: u64,
    pub status: CoverageStatus,
    pub error: Option<String>,
    /// The kind of `error` (or `acl` for hidden rows); `None` when the table was read in full.
    pub cause: Option<Cause>,
}

/// What `preclone audit -o report.json` (or `--format json`) writes: the one Report every format
/// renders. Optional values are written as null, never left out, except on a result: `waiver`
/// is present only when it is waived, `cause` only on an error, and `change` only when the run
/// had a baseline and the result carries a mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, title = "preclone JSON report")]
pub struct Report {
    /// Version of this shape. `preclone render` reads this version and the one before it;
    /// `--baseline` reads version 1 and later.
    #[schemars(schema_with = "schema_version_schema")]
    pub schema_version: u32,
    pub tool: Tool,
    /// The embedded sample estate of `preclone demo`, not a live instance.
    pub demo: bool,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub source: InstanceInfo,
    pub targets: Vec<InstanceInfo>,
    pub gate: Gate,
    pub summary: Summary,
    /// The comparison with `--baseline` (null without one); each fail or error then carries its
    /// `change`.
    #[serde(default)]
    pub baseline: Option<BaselineSummary>,
    /// Sorted: status (fail, error, waived, pass), severity (highest first), instance, check, subject.
    pub results: Vec<CheckResult>,
    /// The MID Servers that will go down (each a failing or waived `mid-server-will-go-down`).
    pub impact: Vec<Impact>,
    /// The MID Servers whose `mid-server-will-go-down` ended in `error`: while any is listed,
    /// no format says that none will go down.
    pub impact_undecided: Vec<UndecidedServer>,
    /// The MID Server clusters with members down after the clone (every member, when the
    /// result is `fail` or `waived`).
    #[serde(default)]
    pub cluster_impact: Vec<ClusterImpact>,
    pub inventory: Vec<InstanceInventory>,
    pub coverage: Vec<CoverageRow>,
    pub waivers: Vec<WaiverStatus>,
    /// `sha256:<hex>` of the canonical evidence JSON.
    pub evidence_digest: String,
}

/// The JSON Schema of the report (`docs/report.schema.json` is this, written out).
pub fn report_schema() -> schemars::Schema {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<Report>();
    schema.insert(
        "$id".into(),
        format!("urn:preclone:report:{REPORT_SCHEMA_VERSION}").into(),
    );
    schema
}

/// A schema allowing exactly these values, as serde writes them.
fn one_of<T: Serialize>(values: &[T]) -> schemars::Schema {
    let values: Vec<serde_json::Value> = values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    schemars::json_schema!({ "type": "string", "enum": values })
}

fn role_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(&[InstanceRole::Source, InstanceRole::Target])
}

fn origin_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(&[
        ProductionOrigin::Config,
        ProductionOrigin::Property,
        ProductionOrigin::Unknown,
    ])
}

fn by_severity_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = <BTreeMap<Severity, Counts> as schemars::JsonSchema>::json_schema(generator);
    let every: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
    schema.insert("required".into(), every.into());
    schema
}

fn schema_version_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "Version of this shape. `preclone render` reads this version and the one before it; `--baseline` reads version 1 and later.",
        "const": REPORT_SCHEMA_VERSION
    })
}
