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

/// `--color`: whether the console report is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` forces it elsewhere.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to paint: `always` and `never` say so; `auto` paints unless `NO_COLOR` is set (and
    /// not empty), then when `CLICOLOR_FORCE` is set (and not `0`), then when stdout is a
    /// terminal. `env` reads a variable of the environment.
    pub fn wanted(self, stdout_is_terminal: bool, env: impl Fn(&str) -> Option<String>) -> bool {
        let set = |key: &str| env(key).filter(|v| !v.is_empty());
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set("NO_COLOR").is_some() => false,
            ColorChoice::Auto if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
            ColorChoice::Auto => stdout_is_terminal,
        }
    }
}

/// How the console report is laid out.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleOptions {
    /// ANSI colours (the caller decides, by [`ColorChoice::wanted`]).
    pub color: bool,
    /// Terminal width in columns; 100 when unknown.
    pub width: Option<u16>,
}

#[cfg(test)]
mod tests {
    use super::ColorChoice;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn color_follows_the_option_then_no_color_then_clicolor_force_then_the_terminal() {
        use ColorChoice::*;
        assert!(Auto.wanted(true, env(&[])));
        assert!(!Auto.wanted(false, env(&[])));
        assert!(!Auto.wanted(true, env(&[("NO_COLOR", "1")])));
        assert!(
            Auto.wanted(true, env(&[("NO_COLOR", "")])),
            "an empty NO_COLOR is unset"
        );
        assert!(Auto.wanted(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!Auto.wanted(false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!Auto.wanted(false, env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])));
        assert!(Always.wanted(false, env(&[("NO_COLOR", "1")])));
        assert!(!Never.wanted(true, env(&[("CLICOLOR_FORCE", "1")])));
    }
}
