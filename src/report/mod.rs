//! Reports: the one [`Report`] model and its renderers.
//!
//! The modules form layers: `model`, `format`, `error` and `text` are leaves; each renderer
//! (`console`, `csv`, `html`, `json`, `junit`, `markdown`) imports only those; [`render`] here is
//! the one place that names every renderer. `build` makes the [`Report`] from judged results.

pub mod baseline;
pub mod build;
mod causes;
pub mod change;
pub mod console;
pub mod csv;
mod error;
mod format;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
mod text;

pub use error::RenderError;
pub use format::{ColorChoice, ConsoleOptions, Format};
pub use model::*;

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

/// The `--only-failed` view of `report`: its results that are `fail` or `error`, nothing waived
/// or passed. The totals, the gate and the coverage stay those of the whole run. Meant for the
/// console and Markdown; the other formats are always rendered whole.
pub fn only_failed(report: &Report) -> Report {
    let mut view = report.clone();
    view.results.retain(|r| {
        matches!(
            r.status,
            crate::finding::Status::Fail | crate::finding::Status::Error
        )
    });
    view
}

/// Whether `format` shows the `--only-failed` view rather than the whole report.
pub fn has_only_failed_view(format: Format) -> bool {
    matches!(format, Format::Console | Format::Markdown)
}

/// The paragraph a non-zero exit prints on stderr, or `None` for exit 0. `console_shown`: whether
/// stdout got the console report (not with `-q`, nor with another `--format`), so that the
/// paragraph points "above" only when something is there.
pub fn exit_paragraph(report: &Report, console_shown: bool) -> Option<String> {
    text::exit_paragraph(report, console_shown)
}
