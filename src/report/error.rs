//! Why a report could not be rendered or read back.

use super::format::Format;

/// Why a report could not be rendered or read back (writing it is [`crate::output`]'s).
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
        "the JSON report has schema_version {found}, but this preclone reads versions \
         {oldest} to {supported}; render it with the preclone release that wrote it, or re-run \
         the audit"
    )]
    SchemaVersion {
        found: String,
        oldest: u32,
        supported: u32,
    },

    #[error(
        "the JSON report does not match report schema version {version} \
         (docs/report.schema.json): {source}; was it edited by hand?"
    )]
    JsonShape {
        version: u32,
        #[source]
        source: serde_json::Error,
    },
}
