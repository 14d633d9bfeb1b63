//! The exit codes of `audit`, `demo` and `render` (PRODUCT.md section 3, "Exit codes"), and the
//! order in which they outrank each other.

use serde::{Deserialize, Serialize};

/// How a run ends. The JSON report writes it as its number (`gate.exit_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
#[repr(u8)]
pub enum Exit {
    /// Nothing unwaived at or above `--fail-on`, and every check that could reach it was decided.
    Pass = 0,
    /// An unwaived `fail` at or above `--fail-on`.
    GateFailed = 1,
    /// No gate failure, but a check that could reach `--fail-on` ended in `error`.
    Incomplete = 2,
    /// A usage or configuration error (clap's own included), or an invalid waiver file.
    Usage = 3,
    /// An instance could not be reached, or refused the credentials, on its first request.
    Access = 4,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Rank in the documented precedence: 3, then 4, then 1, then 2, then 0.
    fn rank(self) -> u8 {
        match self {
            Exit::Usage => 4,
            Exit::Access => 3,
            Exit::GateFailed => 2,
            Exit::Incomplete => 1,
            Exit::Pass => 0,
        }
    }

    /// The exit that outranks the other (for a run that ends for two reasons at once).
    pub fn worst(self, other: Exit) -> Exit {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

impl From<Exit> for u8 {
    fn from(e: Exit) -> u8 {
        e.code()
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

impl TryFrom<u8> for Exit {
    type Error = String;
    fn try_from(code: u8) -> Result<Self, Self::Error> {
        match code {
            0 => Ok(Exit::Pass),
            1 => Ok(Exit::GateFailed),
            2 => Ok(Exit::Incomplete),
            3 => Ok(Exit::Usage),
            4 => Ok(Exit::Access),
            other => Err(format!("{other} is not an exit code of preclone (0 to 4)")),
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl schemars::JsonSchema for Exit {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Exit".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The exit code: 0 pass, 1 gate failed, 2 evidence incomplete, 3 usage error, 4 access failure.",
            "type": "integer",
            "enum": [0, 1, 2, 3, 4]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_usage_access_gate_incomplete_pass() {
        let order = [
            Exit::Usage,
            Exit::Access,
            Exit::GateFailed,
            Exit::Incomplete,
            Exit::Pass,
        ];
        for (i, a) in order.iter().enumerate() {
            for b in &order[i..] {
                assert_eq!(a.worst(*b), *a, "{a:?} over {b:?}");
                assert_eq!(b.worst(*a), *a, "{a:?} over {b:?}");
            }
        }
    }

    #[test]
    fn codes_round_trip_as_numbers() {
        for e in [
            Exit::Pass,
            Exit::GateFailed,
            Exit::Incomplete,
            Exit::Usage,
            Exit::Access,
        ] {
            assert_eq!(Exit::try_from(e.code()), Ok(e));
            assert_eq!(serde_json::to_string(&e).ok(), Some(e.code().to_string()));
        }
        assert!(Exit::try_from(5).is_err());
    }
}
