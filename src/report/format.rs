//! Which format a report is rendered in, and how the console format is laid out.

use std::path::Path;

/// Every format the one [`Report`](super::Report) renders to; `--format` takes its kebab-case name.
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
