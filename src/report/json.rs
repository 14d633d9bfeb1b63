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

/// Reads a JSON report back (for `preclone render report.json`), refusing any schema version
/// but [`REPORT_SCHEMA_VERSION`].
pub fn parse(text: &str) -> Result<Report, RenderError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| RenderError::JsonSyntax { source })?;
    let version = value
        .as_object()
        .and_then(|o| o.get("schema_version"))
        .ok_or(RenderError::NotAReport)?;
    if version.as_u64() != Some(u64::from(REPORT_SCHEMA_VERSION)) {
        return Err(RenderError::SchemaVersion {
            found: version.to_string(),
            supported: REPORT_SCHEMA_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|source| RenderError::JsonShape {
        version: REPORT_SCHEMA_VERSION,
        source,
    })
}
