//! Waivers: accepted risks from a `--waivers` TOML file. Load and validate them (every problem at
//! once, each with the file and line), then apply them to the results of a run.

use crate::checks::CheckId;
use crate::finding::{AppliedWaiver, CheckResult, Severity, Status, Subject};
use crate::toml_check::{self, line_column, type_name, NoText};
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use strum::{Display, IntoStaticStr};

/// A matched waiver that expires within this many days is reported as `expiring`.
pub const EXPIRING_WITHIN_DAYS: i64 = 30;

const FIELDS: [&str; 6] = [
    "check", "instance", "subject", "reason", "approver", "expires",
];

/// What became of a waiver in a run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, IntoStaticStr, Display, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum WaiverState {
    /// It waived at least one failure and expires in more than 30 days.
    Active,
    /// It waived at least one failure and expires within 30 days (`EXPIRING_WITHIN_DAYS`).
    Expiring,
    /// Its expiry day has passed: it waives nothing.
    Expired,
    /// It matched no failing result.
    Unused,
}

impl WaiverState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A waiver as loaded, and what became of it (the report's waiver list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WaiverStatus {
    pub check: CheckId,
    pub instance: String,
    pub subject: String,
    pub reason: String,
    pub approver: String,
    pub expires: String,
    pub state: WaiverState,
    /// How many results it turned into `waived`.
    pub applied: usize,
}

/// One `[[waiver]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiver {
    pub check: CheckId,
    pub instance: String,
    /// Exact subject name or sys_id.
    pub subject: String,
    pub reason: String,
    pub approver: String,
    /// Valid through the end of this day, UTC.
    pub expires: NaiveDate,
    /// 1-based line of its `[[waiver]]` header.
    pub line: usize,
}

impl Waiver {
    /// Whether the waiver still holds at `now` (it lasts to the end of its `expires` day, UTC).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now.date_naive() > self.expires
    }

    fn expires_text(&self) -> String {
        self.expires.format("%Y-%m-%d").to_string()
    }

    fn matches(&self, result: &CheckResult) -> bool {
        self.check == result.check
            && self.instance == result.instance
            && (self.subject == result.subject.name
                || (!result.subject.sys_id.is_empty() && self.subject == result.subject.sys_id))
    }
}

/// Why a waiver file was refused.
#[derive(Debug, thiserror::Error)]
pub enum WaiverError {
    #[error("could not read waiver file {}: {source}; check the --waivers path", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "waiver file {}:{line}:{column} is not valid TOML: {message}\nfix the syntax there; each waiver is a [[waiver]] table",
        .path.display()
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error(
        "waiver file {} has {} problem{}:\n{}\nfix {}; every waiver needs check, instance, subject, reason, approver and expires (YYYY-MM-DD), and `preclone checks` lists the check ids",
        .path.display(),
        .problems.len(),
        if .problems.len() == 1 { "" } else { "s" },
        .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"),
        if .problems.len() == 1 { "it" } else { "them" }
    )]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// Reads and validates a waiver file.
pub fn load(path: &Path) -> Result<Vec<Waiver>, WaiverError> {
    let text = std::fs::read_to_string(path).map_err(|source| WaiverError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// The `[[waiver]]` entries with their positions, read beside the plain parse.
#[derive(Deserialize)]
struct Positions {
    #[serde(default)]
    waiver: Vec<toml::Spanned<toml::Table>>,
}

/// `YYYY-MM-DD`, strictly (four-digit year, two-digit month and day).
fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Validates one waiver table; pushes its problems, prefixed with `where_`.
fn parse_one(
    table: &toml::Table,
    line: usize,
    where_: &str,
    problems: &mut Vec<String>,
) -> Option<Waiver> {
    let before = problems.len();
    for key in table.keys() {
        if !FIELDS.contains(&key.as_str()) {
            problems.push(format!(
                "{where_}: unknown key {key:?} (expected: {})",
                FIELDS.join(", ")
            ));
        }
    }
    let mut text_field = |key: &str| -> Option<String> {
        toml_check::required_str(table, key)
            .map_err(|why| {
                problems.push(match why {
                    NoText::Missing => format!("{where_}: missing field `{key}`"),
                    NoText::Empty => format!("{where_}: `{key}` must not be empty"),
                    NoText::NotAString(t) => format!("{where_}: `{key}` must be a string, not {t}"),
                })
            })
            .ok()
    };

    let check = text_field("check");
    let instance = text_field("instance");
    let subject = text_field("subject");
    let reason = text_field("reason");
    let approver = text_field("approver");

    let check = check.and_then(|check| match check.parse::<CheckId>() {
        Ok(id) => Some(id),
        Err(_) => {
            problems.push(format!(
                "{where_}: unknown check id {check:?} (run `preclone checks` for the list)"
            ));
            None
        }
    });

    let expires = match table.get("expires") {
        None => {
            problems.push(format!("{where_}: missing field `expires`"));
            None
        }
        Some(toml::Value::String(s)) => {
            let date = parse_date(s.trim());
            if date.is_none() {
                problems.push(format!(
                    "{where_}: `expires` {s:?} is not a date written YYYY-MM-DD"
                ));
            }
            date
        }
        Some(toml::Value::Datetime(dt)) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                let date = NaiveDate::from_ymd_opt(
                    i32::from(d.year),
                    u32::from(d.month),
                    u32::from(d.day),
                );
                if date.is_none() {
                    problems.push(format!("{where_}: `expires` {dt} is not a valid date"));
                }
                date
            }
            _ => {
                problems.push(format!(
                    "{where_}: `expires` {dt} must be a date YYYY-MM-DD, without a time (the \
                     waiver holds to the end of that day, UTC)"
                ));
                None
            }
        },
        Some(other) => {
            problems.push(format!(
                "{where_}: `expires` must be a date YYYY-MM-DD, not {}",
                type_name(other)
            ));
            None
        }
    };

    if problems.len() != before {
        return None;
    }
    Some(Waiver {
        check: check?,
        instance: instance?,
        subject: subject?,
        reason: reason?,
        approver: approver?,
        expires: expires?,
        line,
    })
}

/// Parses and validates the text of a waiver file; `path` is used in messages. Every problem is
/// reported at once, each with the file and the line of its `[[waiver]]` header.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Waiver>, WaiverError> {
    let file = path.display().to_string();
    let doc = toml_check::parse_table(text).map_err(|e| WaiverError::Syntax {
        path: path.to_path_buf(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;

    let mut problems = Vec::new();
    for key in doc.keys() {
        if key != "waiver" {
            problems.push(format!(
                "{file}: unknown top-level key {key:?} (a waiver file holds only [[waiver]] tables)"
            ));
        }
    }

    let entries: Vec<(usize, toml::Table)> = match doc.get("waiver") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) if items.iter().all(|i| i.is_table()) => {
            match toml::from_str::<Positions>(text) {
                Ok(positions) => positions
                    .waiver
                    .into_iter()
                    .map(|spanned| {
                        let (line, _) = line_column(text, spanned.span().start);
                        (line, spanned.into_inner())
                    })
                    .collect(),
                Err(e) => {
                    let (line, _) = toml_check::position(text, &e);
                    problems.push(format!("{file}:{line}: {}", e.message().trim()));
                    Vec::new()
                }
            }
        }
        Some(other) => {
            problems.push(format!(
                "{file}: `waiver` must be a list of [[waiver]] tables, not {}",
                type_name(other)
            ));
            Vec::new()
        }
    };

    let mut waivers = Vec::new();
    let mut seen: HashMap<(CheckId, String, String), usize> = HashMap::new();
    for (index, (line, table)) in entries.iter().enumerate() {
        let where_ = format!("{file}:{line}: waiver {}", index + 1);
        let Some(waiver) = parse_one(table, *line, &where_, &mut problems) else {
            continue;
        };
        let key = (
            waiver.check,
            waiver.instance.clone(),
            waiver.subject.clone(),
        );
        if let Some(first) = seen.get(&key) {
            problems.push(format!(
                "{where_}: duplicate of the waiver at line {first} (same check {:?}, instance {:?} \
                 and subject {:?}); keep one",
                waiver.check.as_str(),
                waiver.instance,
                waiver.subject
            ));
            continue;
        }
        seen.insert(key, waiver.line);
        waivers.push(waiver);
    }

    if problems.is_empty() {
        Ok(waivers)
    } else {
        Err(WaiverError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }
}

fn waiver_evidence(waiver: &Waiver) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("check".to_string(), waiver.check.to_string()),
        ("subject".to_string(), waiver.subject.clone()),
        ("expires".to_string(), waiver.expires_text()),
        ("approver".to_string(), waiver.approver.clone()),
        ("reason".to_string(), waiver.reason.clone()),
    ])
}

fn waiver_result(
    waiver: &Waiver,
    check: CheckId,
    severity: Severity,
    message: String,
    remediation: &str,
) -> CheckResult {
    CheckResult {
        check,
        severity,
        status: Status::Fail,
        instance: crate::shared_text::shared(&waiver.instance),
        subject: Subject::new(
            "waiver",
            "",
            &format!("{} / {}", waiver.check, waiver.subject),
        ),
        message,
        remediation: remediation.to_string(),
        evidence: waiver_evidence(waiver).into(),
        waiver: None,
        cause: None,
        change: None,
    }
}

/// Applies `waivers` to `results` in place and returns what became of each waiver (in the order
/// given). A matched, unexpired waiver turns `fail` into `waived`; `error` and `pass` are never
/// touched. Expired waivers add a `waiver-expired` result (medium), unexpired waivers that match
/// no failing result add a `waiver-unused` result (low).
pub fn apply(
    results: &mut Vec<CheckResult>,
    waivers: &[Waiver],
    now: DateTime<Utc>,
) -> Vec<WaiverStatus> {
    let today = now.date_naive();
    // Only results that were failing before any waiver applied can be matched.
    let failing: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == Status::Fail)
        .map(|(i, _)| i)
        .collect();

    let mut statuses = Vec::with_capacity(waivers.len());
    let mut added = Vec::new();
    for waiver in waivers {
        let status = |state: WaiverState, applied: usize| WaiverStatus {
            check: waiver.check,
            instance: waiver.instance.clone(),
            subject: waiver.subject.clone(),
            reason: waiver.reason.clone(),
            approver: waiver.approver.clone(),
            expires: waiver.expires_text(),
            state,
            applied,
        };

        if waiver.is_expired(now) {
            added.push(waiver_result(
                waiver,
                CheckId::WaiverExpired,
                Severity::Medium,
                format!(
                    "the waiver of {} for {} (approved by {}) expired on {}, so the finding is \
                     reported again",
                    waiver.check,
                    waiver.subject,
                    waiver.approver,
                    waiver.expires_text()
                ),
                "renew or remove the waiver",
            ));
            statuses.push(status(WaiverState::Expired, 0));
            continue;
        }

        let mut matched = 0;
        let mut applied = 0;
        for &i in &failing {
            let Some(result) = results.get_mut(i) else {
                continue;
            };
            if !waiver.matches(result) {
                continue;
            }
            matched += 1;
            // A result matched by two waivers (one by name, one by sys_id) keeps the first.
            if result.status == Status::Fail {
                result.status = Status::Waived;
                result.waiver = Some(Box::new(AppliedWaiver {
                    reason: waiver.reason.clone(),
                    approver: waiver.approver.clone(),
                    expires: waiver.expires_text(),
                }));
                applied += 1;
            }
        }

        if matched == 0 {
            let undecided = results
                .iter()
                .any(|r| r.status == Status::Error && waiver.matches(r));
            let detail = if undecided {
                " (it matches only results that could not be decided, which are never waived)"
            } else {
                ""
            };
            added.push(waiver_result(
                waiver,
                CheckId::WaiverUnused,
                Severity::Low,
                format!(
                    "the waiver of {} for {} on {} (approved by {}, expires {}) matches no failing \
                     result{detail}",
                    waiver.check,
                    waiver.subject,
                    waiver.instance,
                    waiver.approver,
                    waiver.expires_text()
                ),
                "remove the waiver if the finding is fixed, or correct its check, instance or \
                 subject (matching is exact and case-sensitive, on the subject's name or sys_id)",
            ));
            statuses.push(status(WaiverState::Unused, 0));
            continue;
        }

        let days_left = (waiver.expires - today).num_days();
        let state = if days_left <= EXPIRING_WITHIN_DAYS {
            WaiverState::Expiring
        } else {
            WaiverState::Active
        };
        statuses.push(status(state, applied));
    }
    results.extend(added);
    statuses
}
