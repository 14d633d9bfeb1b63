//! What a run is set to: the command line over the config file over the defaults, and the run's
//! clock. The binary resolves these once per command; nothing here reads the environment itself.

use crate::cli::{AuditArgs, DoctorArgs, FixArgs};
use crate::config::{ClientSettings, Config};
use crate::finding::FailOn;
use chrono::{DateTime, Utc};

/// The variable that freezes the clock and the run id (RFC 3339), so reports are reproducible.
pub const FROZEN_TIME_VAR: &str = "PRECLONE_FROZEN_TIME";

/// The run's clock and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// When the run started (the frozen time, when frozen).
    pub started_at: DateTime<Utc>,
    /// `frozen-<time>` when frozen, else `<time>-<4 hex digits>`.
    pub run_id: String,
    frozen: bool,
}

/// `PRECLONE_FROZEN_TIME` holds something that is not an RFC 3339 time.
#[derive(Debug, thiserror::Error)]
#[error(
    "{FROZEN_TIME_VAR}={value:?} is not an RFC 3339 time ({source}); use e.g. 2026-11-24T09:12:00Z"
)]
pub struct ClockError {
    value: String,
    source: chrono::ParseError,
}

impl Clock {
    /// The clock [`FROZEN_TIME_VAR`] sets, read through `env`; the system clock when it is unset
    /// or blank.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Clock, ClockError> {
        match env(FROZEN_TIME_VAR) {
            Some(v) if !v.trim().is_empty() => {
                let t = DateTime::parse_from_rfc3339(v.trim())
                    .map_err(|source| ClockError {
                        value: v.clone(),
                        source,
                    })?
                    .with_timezone(&Utc);
                Ok(Clock {
                    started_at: t,
                    run_id: format!("frozen-{}", t.format("%Y%m%dT%H%M%SZ")),
                    frozen: true,
                })
            }
            _ => {
                let now = Utc::now();
                let run_id = format!(
                    "{}-{:04x}",
                    now.format("%Y%m%dT%H%M%S"),
                    (now.timestamp_subsec_nanos() ^ std::process::id()) & 0xffff
                );
                Ok(Clock {
                    started_at: now,
                    run_id,
                    frozen: false,
                })
            }
        }
    }

    /// Now: the frozen time when frozen, else the system clock. Waivers expire by it.
    pub fn now(&self) -> DateTime<Utc> {
        if self.frozen {
            self.started_at
        } else {
            Utc::now()
        }
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen
    }
}

/// What an `audit` runs with.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Timeout and concurrency: the command line's, else the config's, else the defaults.
    pub client: ClientSettings,
    /// The gate: `--fail-on`, else the config's `fail_on`, else `high`.
    pub fail_on: FailOn,
}

impl RunSettings {
    /// The command line over the config file over the defaults.
    pub fn resolve(args: &AuditArgs, config: &Config) -> RunSettings {
        Self::of(args.timeout, args.concurrency, args.report.fail_on, config)
    }

    /// What a `fix` runs with: as for an audit.
    pub fn for_fix(args: &FixArgs, config: &Config) -> RunSettings {
        Self::of(args.timeout, args.concurrency, args.fail_on, config)
    }

    fn of(
        timeout: Option<std::time::Duration>,
        concurrency: Option<u16>,
        fail_on: Option<FailOn>,
        config: &Config,
    ) -> RunSettings {
        let defaults = ClientSettings::default();
        RunSettings {
            client: ClientSettings {
                timeout: timeout.or(config.timeout).unwrap_or(defaults.timeout),
                concurrency: concurrency
                    .map(usize::from)
                    .or(config.concurrency)
                    .unwrap_or(defaults.concurrency),
                ..defaults
            },
            fail_on: fail_on.or(config.fail_on).unwrap_or(FailOn::High),
        }
    }

    /// What `doctor` probes with: the timeout as for an audit, and one retry (a probe reports a
    /// flaky table rather than waiting it out).
    pub fn doctor(args: &DoctorArgs, config: &Config) -> ClientSettings {
        let defaults = ClientSettings::default();
        ClientSettings {
            timeout: args.timeout.or(config.timeout).unwrap_or(defaults.timeout),
            retries: 1,
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use std::time::Duration;

    fn audit_args(extra: &[&str]) -> AuditArgs {
        let args = ["preclone", "audit", "--source", "prod", "--target", "dev"];
        match Cli::parse_from(args.iter().chain(extra)).command {
            Command::Audit(a) => a,
            other => panic!("not an audit: {other:?}"),
        }
    }

    fn config(fail_on: Option<FailOn>, timeout: Option<u64>, concurrency: Option<usize>) -> Config {
        Config {
            fail_on,
            timeout: timeout.map(Duration::from_secs),
            concurrency,
            ..Config::default()
        }
    }

    #[test]
    fn the_command_line_wins_over_the_config_which_wins_over_the_defaults() {
        let defaults = RunSettings::resolve(&audit_args(&[]), &config(None, None, None));
        let d = ClientSettings::default();
        let c = &defaults.client;
        assert_eq!((c.timeout, c.concurrency), (d.timeout, d.concurrency));
        assert_eq!(defaults.fail_on, FailOn::High);
        let file = config(Some(FailOn::Medium), Some(5), Some(3));
        let from_file = RunSettings::resolve(&audit_args(&[]), &file);
        assert_eq!(
            (from_file.client.timeout, from_file.client.concurrency),
            (Duration::from_secs(5), 3)
        );
        assert_eq!(from_file.fail_on, FailOn::Medium);
        let args = audit_args(&["--timeout", "9s", "--concurrency", "2", "--fail-on", "low"]);
        let from_cli = RunSettings::resolve(&args, &file);
        assert_eq!(
            (from_cli.client.timeout, from_cli.client.concurrency),
            (Duration::from_secs(9), 2)
        );
        assert_eq!(from_cli.fail_on, FailOn::Low);
        assert_eq!(from_cli.client.retries, ClientSettings::default().retries);
    }

    #[test]
    fn a_frozen_clock_fixes_the_time_and_the_run_id() {
        let frozen = |v: &'static str| move |k: &str| (k == FROZEN_TIME_VAR).then(|| v.to_string());
        let c = Clock::from_env(frozen("2026-11-24T09:12:00Z")).expect("a valid time");
        assert!(c.is_frozen());
        assert_eq!(c.run_id, "frozen-20261124T091200Z");
        assert_eq!(c.now(), c.started_at);
        let err = Clock::from_env(frozen("yesterday")).expect_err("not a time");
        assert!(err
            .to_string()
            .contains("PRECLONE_FROZEN_TIME=\"yesterday\""));
        let live = Clock::from_env(frozen(" ")).expect("blank is unset");
        assert!(!live.is_frozen() && !live.run_id.starts_with("frozen"));
    }
}
