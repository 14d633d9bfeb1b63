//! What the config file and the waiver file share when they read TOML: the name of a value's
//! type for messages, positions as line and column, and syntax errors that never quote the file.

/// A TOML syntax error, reduced to what a message may show: where it is and what is wrong.
/// toml's own rendering quotes the offending line, which may hold a secret; this never does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// 1-based; 0 when toml gave no position.
    pub line: usize,
    /// 1-based, in characters; 0 when toml gave no position.
    pub column: usize,
    /// toml's message on one line.
    pub message: String,
}

/// Parses `text` as a TOML table, or says where and why it is not one.
pub(crate) fn parse_table(text: &str) -> Result<toml::Table, SyntaxError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = position(text, &e);
        SyntaxError {
            line,
            column,
            message: one_line(e.message()),
        }
    })
}

/// Line and column (1-based) where a deserialising error starts; `(0, 0)` when toml gave none.
pub(crate) fn position(text: &str, error: &toml::de::Error) -> (usize, usize) {
    error
        .span()
        .map_or((0, 0), |span| line_column(text, span.start))
}

/// Why a required string key gives no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoText {
    Missing,
    /// Empty or only blanks.
    Empty,
    /// Another type: its name, as [`type_name`] gives it.
    NotAString(&'static str),
}

/// The non-blank string at `key` of `table`, or why there is none (each file words its own
/// message).
pub(crate) fn required_str(table: &toml::Table, key: &str) -> Result<String, NoText> {
    match table.get(key) {
        None => Err(NoText::Missing),
        Some(toml::Value::String(s)) if s.trim().is_empty() => Err(NoText::Empty),
        Some(toml::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(NoText::NotAString(type_name(other))),
    }
}

/// A value's type, with its article, for "must be a string, not an integer".
pub(crate) fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Line and column (1-based) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |tail| tail.chars().count())
        + 1;
    (line, column)
}

/// toml's message on one line: its parts joined with `; `.
pub(crate) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(line_column("", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 3), (2, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn syntax_errors_are_one_line_and_never_quote_the_text() {
        let err = parse_table("a = 1\nsecret = hunter2-Zq8\n").expect_err("not TOML");
        assert_eq!(err.line, 2);
        assert!(!err.message.contains('\n'), "{err:?}");
        assert!(!err.message.contains("hunter2-Zq8"), "{err:?}");
    }
}
