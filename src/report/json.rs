//! The JSON report: the whole [`Report`], pretty-printed, shaped as `docs/report.schema.json`.
//!
//! Output is deterministic: the model holds only `Vec`s (already sorted) and `BTreeMap`s, and
//! serde_json writes struct fields in declaration order.

use super::error::RenderError;
use super::model::{Report, REPORT_SCHEMA_VERSION};

/// The report as pretty JSON with a trailing newline.
pub fn render(report: &Report) -> String {
    // The model holds strings, numbers, booleans, timestamps and maps keyed by strings or unit
    // enum variants; serde_json cannot fail on any of them.
    let mut out = serde_json::to_string_pretty(report)
        .expect("a Report always serialises: every map key is a string or a unit enum variant");
    out.push('\n');
    out
}

/// The oldest report schema `preclone render` reads: version 2 reads as version 3 without a
/// baseline. Version 1 gave `evidence_complete` another meaning, so it is refused.
pub const OLDEST_RENDERED_VERSION: u32 = 2;

/// Reads a JSON report back (for `preclone render report.json`), refusing any schema version
/// but [`OLDEST_RENDERED_VERSION`] to [`REPORT_SCHEMA_VERSION`]. An older report comes back in
/// this version's shape, its `schema_version` updated.
pub fn parse(text: &str) -> Result<Report, RenderError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| RenderError::JsonSyntax { source })?;
    let version = value
        .as_object()
        .and_then(|o| o.get("schema_version"))
        .ok_or(RenderError::NotAReport)?;
    let readable = u64::from(OLDEST_RENDERED_VERSION)..=u64::from(REPORT_SCHEMA_VERSION);
    let Some(found) = version.as_u64().filter(|v| readable.contains(v)) else {
        return Err(RenderError::SchemaVersion {
            found: version.to_string(),
            oldest: OLDEST_RENDERED_VERSION,
            supported: REPORT_SCHEMA_VERSION,
        });
    };
    let mut report: Report =
        serde_json::from_value(value).map_err(|source| RenderError::JsonShape {
            version: found as u32,
            source,
        })?;
    report.schema_version = REPORT_SCHEMA_VERSION;
    Ok(report)
}
