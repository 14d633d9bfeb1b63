//! Picking a report format, rendering the one [`Report`] in it, and writing report files atomically.

use super::model::{CoverageRow, CoverageStatus, Report};
use super::{console, csv, html, json, junit, markdown};
use crate::checks::Family;
use crate::finding::{CheckResult, Severity, Status};
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Every format the one [`Report`] renders to; `--format` takes its kebab-case name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    clap::ValueEnum,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[strum(serialize_all = "kebab-case")]
pub enum Format {
    Console,
    Json,
    Csv,
    Html,
    Junit,
    Markdown,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Console,
        Format::Json,
        Format::Csv,
        Format::Html,
        Format::Junit,
        Format::Markdown,
    ];

    /// The format a `-o PATH` asks for, by its extension (case-insensitive): `.html`/`.htm`,
    /// `.csv`, `.json`, `.xml` (JUnit), `.md` (Markdown). `None` for anything else.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "html" | "htm" => Some(Format::Html),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "xml" => Some(Format::Junit),
            "md" => Some(Format::Markdown),
            _ => None,
        }
    }

    /// The format a `--format NAME` asks for: `console`, `json`, `csv`, `html`, `junit` or
    /// `markdown`.
    pub fn parse(s: &str) -> Option<Format> {
        s.parse().ok()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How the console report is laid out.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleOptions {
    /// ANSI colours (only when stdout is a terminal and `NO_COLOR` is unset; the caller decides).
    pub color: bool,
    /// Terminal width in columns; 100 when unknown.
    pub width: Option<u16>,
}

/// Why a report could not be rendered, read or written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "could not render the {format} report: {detail}. This is a defect in preclone; \
         please report it with the JSON report (`-o report.json`) attached"
    )]
    Internal { format: Format, detail: String },

    #[error(
        "the report is not valid JSON ({source}); give `preclone render` a JSON report written \
         by `preclone audit -o report.json`, or an evidence file from `--save-evidence`"
    )]
    JsonSyntax {
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "the JSON has no `schema_version`, so it is not a preclone report; give a report \
         written by `preclone audit -o report.json`"
    )]
    NotAReport,

    #[error(
        "the JSON report has schema_version {found}, but this preclone reads version \
         {supported}; render it with the preclone release that wrote it, or re-run the audit"
    )]
    SchemaVersion { found: String, supported: u32 },

    #[error(
        "the JSON report does not match report schema version {version} \
         (docs/report.schema.json): {source}; was it edited by hand?"
    )]
    JsonShape {
        version: u32,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "cannot write the report to {}: the folder {} does not exist (or is not a folder); \
         create it first or choose another path",
        path.display(),
        dir.display()
    )]
    NoParentDir { path: PathBuf, dir: PathBuf },

    #[error("could not write the report to {}: {source}; check the path and its permissions", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Renders `report` in `format`. Only the console format reads `console`.
pub fn render(
    report: &Report,
    format: Format,
    console: &ConsoleOptions,
) -> Result<String, RenderError> {
    match format {
        Format::Console => Ok(console::render(report, console)),
        Format::Json => Ok(json::render(report)),
        Format::Csv => csv::render(report),
        Format::Html => html::render(report),
        Format::Junit => Ok(junit::render(report)),
        Format::Markdown => Ok(markdown::render(report)),
    }
}

/// Writes `contents` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`. A reader never sees a half-written report, and a failed write leaves
/// any previous report in place and no temporary file behind.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), RenderError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(RenderError::NoParentDir {
            path: path.to_path_buf(),
            dir,
        });
    }
    let write_err = |source: std::io::Error| RenderError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".preclone-report-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A report is an ordinary file, with the mode `File::create` would give it (0666 less the
        // umask), not the temporary file's 0600.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // Dropping the temporary file on any early return deletes it.
    let mut tmp = builder.tempfile_in(&dir).map_err(write_err)?;
    // Replacing a report keeps the permissions the previous one had.
    if let Ok(existing) = std::fs::metadata(path) {
        if existing.is_file() {
            tmp.as_file()
                .set_permissions(existing.permissions())
                .map_err(write_err)?;
        }
    }
    tmp.write_all(contents.as_bytes()).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}

// Helpers shared by the renderers, so every format says the same thing the same way.

/// The verdict in capitals: `PASS`, `FAIL` or `INCOMPLETE`.
pub(crate) fn verdict_label(report: &Report) -> String {
    report.gate.verdict.as_str().to_uppercase()
}

/// Unwaived failures by severity, most severe first, zero counts left out.
pub(crate) fn fails_by_severity(report: &Report) -> Vec<(Severity, usize)> {
    Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = report.summary.by_severity.get(s).map_or(0, |c| c.fail);
            (n > 0).then_some((*s, n))
        })
        .collect()
}

/// `2 critical · 1 high`, or `no failures`.
pub(crate) fn fails_text(report: &Report) -> String {
    let parts: Vec<String> = fails_by_severity(report)
        .into_iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    if parts.is_empty() {
        "no failures".to_string()
    } else {
        parts.join(" · ")
    }
}

/// `(gate: high, exit 1)`.
pub(crate) fn gate_text(report: &Report) -> String {
    format!(
        "(gate: {}, exit {})",
        report.gate.fail_on, report.gate.exit_code
    )
}

/// `2026-11-24 09:12 UTC`.
pub(crate) fn time_text(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `prod → dev, test`.
pub(crate) fn audit_text(report: &Report) -> String {
    let targets: Vec<&str> = report.targets.iter().map(|t| t.name.as_str()).collect();
    format!("{} → {}", report.source.name, targets.join(", "))
}

/// `31 checks · 94 results: 87 pass · 6 fail · 0 error · 1 waived · 38 requests in 0.7 s`.
pub(crate) fn totals_text(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{} checks · {} results: {} pass · {} fail · {} error · {} waived · {} requests in {:.1} s",
        s.checks,
        s.results,
        s.totals.pass,
        s.totals.fail,
        s.totals.error,
        s.totals.waived,
        s.requests,
        s.duration_ms as f64 / 1000.0
    )
}

/// Characters that reorder the text around them (bidirectional overrides, isolates and marks):
/// shown escaped by the console and HTML reports so a name cannot disguise itself.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Results of the checks that say whether production is exposed (the console's and HTML's
/// exposure section).
pub(crate) fn is_exposure(result: &CheckResult) -> bool {
    result.check.family() == Family::Exposure
}

/// Results with `status`, most severe first, otherwise in the report's order.
pub(crate) fn with_status(report: &Report, status: Status) -> Vec<&CheckResult> {
    let mut out: Vec<&CheckResult> = report
        .results
        .iter()
        .filter(|r| r.status == status)
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.severity));
    out
}

/// What the coverage section says: tables read, instances, and what was not seen.
pub(crate) struct CoverageFacts<'a> {
    pub tables_read: usize,
    pub instances: usize,
    pub unreadable: Vec<&'a CoverageRow>,
    pub hidden: Vec<&'a CoverageRow>,
}

pub(crate) fn coverage_facts(report: &Report) -> CoverageFacts<'_> {
    let mut instances: Vec<&str> = report
        .coverage
        .iter()
        .map(|c| c.instance.as_str())
        .collect();
    instances.sort_unstable();
    instances.dedup();
    CoverageFacts {
        tables_read: report
            .coverage
            .iter()
            .filter(|c| c.status != CoverageStatus::Unreadable)
            .count(),
        instances: instances.len(),
        unreadable: report
            .coverage
            .iter()
            .filter(|c| c.status == CoverageStatus::Unreadable)
            .collect(),
        hidden: report
            .coverage
            .iter()
            .filter(|c| c.status != CoverageStatus::Unreadable && c.hidden_rows > 0)
            .collect(),
    }
}

/// `11 tables read on 3 instances, nothing hidden` or `...; 1 unreadable, 1 with hidden rows`.
pub(crate) fn coverage_text(report: &Report) -> String {
    let f = coverage_facts(report);
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let head = format!(
        "{} read on {}",
        plural(f.tables_read, "table", "tables"),
        plural(f.instances, "instance", "instances")
    );
    if f.unreadable.is_empty() && f.hidden.is_empty() {
        format!("{head}, nothing hidden")
    } else {
        let mut gaps = Vec::new();
        if !f.unreadable.is_empty() {
            gaps.push(format!("{} unreadable", f.unreadable.len()));
        }
        if !f.hidden.is_empty() {
            gaps.push(format!(
                "{} with rows hidden by ACLs",
                plural(f.hidden.len(), "table", "tables")
            ));
        }
        format!("{head}; {}", gaps.join(", "))
    }
}
