//! `--baseline PREVIOUS.json`: read the JSON report of an earlier run, mark each result of this
//! one `new`, `unchanged` or `resolved` against it, list what is no longer reported, and decide
//! the gate again when it counts only new fails (`--gate-on new`).
//!
//! Results are matched by check, instance and subject: the instance by its URL (so a renamed
//! config entry still matches), the subject by its sys_id, or by its name when it has none.
//! Several results with one key are matched as a multiset: fails and errors of the baseline pair
//! with fails and errors now first, then with waived results, then with passes.

use super::build::{gate_on, GateOptions};
use super::change::{BaselineSummary, Change, GateOn, GoneResult};
use super::model::{InstanceInfo, Report, REPORT_SCHEMA_VERSION};
use crate::exit::Exit;
use crate::finding::{CheckResult, Severity, Status, Subject};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The oldest report schema a baseline may have: every version records the results' check,
/// instance, subject and status with the meaning they have today.
pub const OLDEST_BASELINE_VERSION: u32 = 1;

/// Why a baseline was refused (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the baseline {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the baseline {file} is not JSON ({source}); give --baseline the JSON report of an \
         earlier run (`preclone audit -o report.json`)"
    )]
    NotJson {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the baseline {file} is an evidence file, not a JSON report; give --baseline the JSON \
         report of that run, or write one from it with `preclone render {file} -o report.json`"
    )]
    Evidence { file: String },
    #[error(
        "the baseline {file} is not a preclone JSON report (it has no report schema_version); \
         give --baseline the JSON report of an earlier run (`preclone audit -o report.json`)"
    )]
    NotAReport { file: String },
    #[error(
        "the baseline {file} has report schema_version {found}, newer than this preclone reads \
         ({OLDEST_BASELINE_VERSION} to {REPORT_SCHEMA_VERSION}); upgrade preclone, or give a \
         report written by this release"
    )]
    Newer { file: String, found: u64 },
    #[error(
        "the baseline {file} does not match report schema version {version} \
         (docs/report.schema.json): {source}; give the JSON report exactly as preclone wrote it"
    )]
    Shape {
        file: String,
        version: u32,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the baseline {file} is an audit of {baseline}, but this run audits {run}: a baseline \
         compares runs of the same source and targets; give the report of an earlier run of \
         this audit, or run without --baseline"
    )]
    OtherInstances {
        file: String,
        baseline: String,
        run: String,
    },
}

/// An instance as a report records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Recorded {
    name: String,
    #[serde(default)]
    url: String,
}

/// A result as a report of any supported version records it; the check id stays text, so a
/// check that no longer exists is still listed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Prior {
    check: String,
    severity: Severity,
    status: Status,
    instance: String,
    subject: Subject,
    #[serde(default)]
    message: String,
}

/// What the comparison reads of a report: serde ignores every other field, which is what lets
/// older and newer shapes of the rest of the report be read.
#[derive(Deserialize)]
struct Shape {
    run_id: String,
    started_at: DateTime<Utc>,
    source: Recorded,
    targets: Vec<Recorded>,
    results: Vec<Prior>,
}

/// An earlier run's JSON report, as far as the comparison needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// The file, as given to `--baseline`.
    pub file: String,
    pub schema_version: u32,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    source: Recorded,
    targets: Vec<Recorded>,
    results: Vec<Prior>,
}

/// Reads and checks the baseline at `path` (not yet against any instance).
pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Reads a baseline from its text; `file` names it in errors and in the report.
pub fn parse(text: &str, file: &str) -> Result<Baseline, BaselineError> {
    let file = file.to_string();
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| BaselineError::NotJson {
            file: file.clone(),
            source,
        })?;
    let Some(object) = value.as_object() else {
        return Err(BaselineError::NotAReport { file });
    };
    if object.contains_key("instances") {
        return Err(BaselineError::Evidence { file });
    }
    let version = match object.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v > u64::from(REPORT_SCHEMA_VERSION) => {
            return Err(BaselineError::Newer { file, found: v })
        }
        Some(v) if v >= u64::from(OLDEST_BASELINE_VERSION) => v as u32,
        _ => return Err(BaselineError::NotAReport { file }),
    };
    let shape: Shape = serde_json::from_value(value).map_err(|source| BaselineError::Shape {
        file: file.clone(),
        version,
        source,
    })?;
    Ok(Baseline {
        file,
        schema_version: version,
        run_id: shape.run_id,
        started_at: shape.started_at,
        source: shape.source,
        targets: shape.targets,
        results: shape.results,
    })
}

/// How an instance is recognised across runs: its URL, normalised; its name when it has none.
fn identity(name: &str, url: &str) -> String {
    let url = url.trim();
    if url.is_empty() {
        return format!("name:{name}");
    }
    let base = crate::config::normalise_url(url)
        .unwrap_or_else(|_| url.trim_end_matches('/').to_ascii_lowercase());
    format!("url:{base}")
}

/// `prod (https://…) → dev (https://…), test (https://…)`.
fn audit_text<'a>(
    source: (&str, &str),
    targets: impl Iterator<Item = (&'a str, &'a str)>,
) -> String {
    let one = |(name, url): (&str, &str)| {
        if url.is_empty() || name == url {
            name.to_string()
        } else {
            format!("{name} ({url})")
        }
    };
    let targets: Vec<String> = targets.map(one).collect();
    format!("{} → {}", one(source), targets.join(", "))
}

impl Baseline {
    /// Refuses a baseline of other instances: its source must be this run's source and its
    /// targets this run's targets (in any order), each recognised by URL. A target added or
    /// left out is refused too: what a target left out reported would read as resolved.
    pub fn check_instances<'a>(
        &self,
        source: (&str, &str),
        targets: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<(), BaselineError> {
        let ours: BTreeSet<String> = targets.clone().map(|(n, u)| identity(n, u)).collect();
        let theirs: BTreeSet<String> = self
            .targets
            .iter()
            .map(|t| identity(&t.name, &t.url))
            .collect();
        let same_source =
            identity(source.0, source.1) == identity(&self.source.name, &self.source.url);
        if same_source && ours == theirs {
            return Ok(());
        }
        Err(BaselineError::OtherInstances {
            file: self.file.clone(),
            baseline: audit_text(
                (&self.source.name, &self.source.url),
                self.targets
                    .iter()
                    .map(|t| (t.name.as_str(), t.url.as_str())),
            ),
            run: audit_text(source, targets),
        })
    }
}

/// What results are matched by: check, instance identity, and the subject's sys_id (its name
/// when it has none).
type Key = (String, String, String);

fn key(check: &str, instance: String, subject: &Subject) -> Key {
    let subject = if subject.sys_id.is_empty() {
        format!("name:{}", subject.name)
    } else {
        format!("id:{}", subject.sys_id)
    };
    (check.to_string(), instance, subject)
}

fn is_bad(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Error)
}

/// Instance name → identity for the instances a report records.
fn identities<'a>(instances: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    instances
        .map(|(name, url)| (name.to_string(), identity(name, url)))
        .collect()
}

fn identity_of(map: &BTreeMap<String, String>, instance: &str) -> String {
    map.get(instance)
        .cloned()
        .unwrap_or_else(|| format!("name:{instance}"))
}

/// Marks `results` against `baseline` and returns the baseline's fails and errors that have no
/// result now. `ours`: the instances of this run (name, URL); `complete`: whether this run read
/// every table in full, without which a missing result is not counted as resolved.
pub fn compare<'a>(
    results: &mut [CheckResult],
    baseline: &Baseline,
    ours: impl Iterator<Item = (&'a str, &'a str)>,
    complete: bool,
) -> Vec<GoneResult> {
    let our_ids = identities(ours);
    let their_ids = identities(
        std::iter::once(&baseline.source)
            .chain(&baseline.targets)
            .map(|i| (i.name.as_str(), i.url.as_str())),
    );
    // Identity → this run's name, for what the baseline reported and this run does not.
    let our_names: BTreeMap<&String, &String> = our_ids.iter().map(|(n, id)| (id, n)).collect();
    let mut groups: BTreeMap<Key, (Vec<&Prior>, Vec<usize>)> = BTreeMap::new();
    for p in &baseline.results {
        let k = key(&p.check, identity_of(&their_ids, &p.instance), &p.subject);
        groups.entry(k).or_default().0.push(p);
    }
    for (i, r) in results.iter().enumerate() {
        let k = key(
            r.check.as_str(),
            identity_of(&our_ids, &r.instance),
            &r.subject,
        );
        groups.entry(k).or_default().1.push(i);
    }
    let mut gone = Vec::new();
    for (prior, now) in groups.into_values() {
        let bad: Vec<&Prior> = prior.into_iter().filter(|p| is_bad(p.status)).collect();
        let mut left = bad.len();
        // Fails and errors now pair with those of the baseline first, then waived results
        // (no mark), then passes (resolved).
        for status in [Status::Fail, Status::Error, Status::Waived, Status::Pass] {
            let with: Vec<usize> = now
                .iter()
                .copied()
                .filter(|&i| results[i].status == status)
                .collect();
            for i in with {
                let paired = left > 0;
                left -= usize::from(paired);
                results[i].change = match (status, paired) {
                    (Status::Fail | Status::Error, true) => Some(Change::Unchanged),
                    (Status::Fail | Status::Error, false) => Some(Change::New),
                    (Status::Pass, true) => Some(Change::Resolved),
                    _ => None,
                };
            }
        }
        for p in &bad[bad.len() - left..] {
            let id = identity_of(&their_ids, &p.instance);
            gone.push(GoneResult {
                check: p.check.clone(),
                severity: p.severity,
                status: p.status,
                instance: our_names
                    .get(&id)
                    .map_or_else(|| p.instance.clone(), |n| (*n).clone()),
                subject: p.subject.clone(),
                message: p.message.clone(),
                change: if complete {
                    Change::Resolved
                } else {
                    Change::Unchanged
                },
            });
        }
    }
    gone.sort_by(|a, b| {
        (
            a.status,
            std::cmp::Reverse(a.severity),
            &a.instance,
            &a.check,
            &a.subject,
        )
            .cmp(&(
                b.status,
                std::cmp::Reverse(b.severity),
                &b.instance,
                &b.check,
                &b.subject,
            ))
    });
    gone
}

/// The instances a report records: source first, then the targets, as (name, URL).
fn recorded(report: &Report) -> impl Iterator<Item = (&str, &str)> + Clone {
    std::iter::once(&report.source)
        .chain(&report.targets)
        .map(|i: &InstanceInfo| (i.name.as_str(), i.url.as_str()))
}

/// Compares `report` with `baseline` (refusing a baseline of other instances), records the
/// comparison in the report, and decides the gate again by `gate_on`.
pub fn apply(
    report: &mut Report,
    baseline: &Baseline,
    gate_on: GateOn,
) -> Result<(), BaselineError> {
    baseline.check_instances(
        (&report.source.name, &report.source.url),
        report
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t.url.as_str())),
    )?;
    let ours: Vec<(String, String)> = recorded(report)
        .map(|(n, u)| (n.to_string(), u.to_string()))
        .collect();
    for r in &mut report.results {
        r.change = None;
    }
    let gone = compare(
        &mut report.results,
        baseline,
        ours.iter().map(|(n, u)| (n.as_str(), u.as_str())),
        report.summary.evidence_complete,
    );
    let count = |c: Change| {
        report
            .results
            .iter()
            .filter(|r| r.change == Some(c))
            .count()
            + gone.iter().filter(|g| g.change == c).count()
    };
    report.baseline = Some(BaselineSummary {
        file: baseline.file.clone(),
        run_id: baseline.run_id.clone(),
        started_at: baseline.started_at,
        schema_version: baseline.schema_version,
        new: count(Change::New),
        unchanged: count(Change::Unchanged),
        resolved: count(Change::Resolved),
        gone,
    });
    regate(report, gate_on);
    Ok(())
}

/// Decides the gate again over the fails `on` counts (every error still counts). A run that
/// could not read an instance keeps its exit 4.
fn regate(report: &mut Report, on: GateOn) {
    if report.gate.exit_code == Exit::Access {
        report.gate.gate_on = on;
        return;
    }
    let options = GateOptions {
        fail_on: report.gate.fail_on,
        allow_incomplete: report.gate.allow_incomplete,
        access_failure: None,
    };
    let mut decided = gate_on(&report.results, &options, on);
    let threshold = report.gate.fail_on.threshold();
    let uncounted = report
        .results
        .iter()
        .filter(|r| r.status == Status::Fail && threshold.is_some_and(|t| r.severity >= t))
        .filter(|r| !on.counts(r))
        .count();
    if uncounted > 0 {
        decided.reason = format!(
            "{}; {uncounted} unchanged since the baseline not counted (--gate-on new)",
            decided.reason
        );
    }
    report.gate = decided;
}

#[cfg(test)]
mod tests;
