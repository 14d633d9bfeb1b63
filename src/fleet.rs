//! Fleets: the `[[pair]]`s of the config audited at once (`preclone audit --pairs [NAME ...]`).
//! Which pairs a run audits, where each pair's files go (`{pair}` in a path), and the summary
//! line of each pair and of the whole run. The reads the pairs share are
//! [`crate::collect::FleetReads`]; the binary runs the pairs.

use crate::config::{Config, PairConfig};
use crate::exit::Exit;
use crate::report::Report;
use std::path::{Path, PathBuf};

/// What `{pair}` in an output path stands for.
pub const PAIR_PLACEHOLDER: &str = "{pair}";

/// A fleet run refused before any request (exit 3).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FleetError {
    #[error(
        "--pairs: {} defines no [[pair]]; add [[pair]] tables (name, source, targets) to it, or audit one pair with --source and --target",
        .config.as_ref().map_or("no config file was read, so it".to_string(), |p| p.display().to_string())
    )]
    NoPairs { config: Option<PathBuf> },
    #[error("--pairs {name}: no [[pair]] of the config is named so; the config defines {}", .known.join(", "))]
    UnknownPair { name: String, known: Vec<String> },
    #[error("--pairs {name} is given {times} times; name each pair once")]
    RepeatedPair { name: String, times: usize },
    #[error(
        "{flag} {}: {pairs} pairs would all share this one file; put {PAIR_PLACEHOLDER} in the path (e.g. {flag} \"reports/{PAIR_PLACEHOLDER}.html\"), which each pair's name replaces",
        .path.display()
    )]
    PathWithoutPair {
        flag: &'static str,
        path: PathBuf,
        pairs: usize,
    },
    #[error(
        "{what} with --pairs: standard output holds one summary line per pair; write each pair's report to a file with -o \"reports/{PAIR_PLACEHOLDER}.md\" (the format follows the extension)"
    )]
    Stdout { what: String },
}

/// The pairs `names` selects from the config, in the order given (every pair of the config, in
/// file order, when `names` is empty).
pub fn select<'a>(config: &'a Config, names: &[String]) -> Result<Vec<&'a PairConfig>, FleetError> {
    if config.pairs.is_empty() {
        return Err(FleetError::NoPairs {
            config: config.path.clone(),
        });
    }
    if names.is_empty() {
        return Ok(config.pairs.iter().collect());
    }
    let mut out: Vec<&PairConfig> = Vec::new();
    for name in names {
        let times = names.iter().filter(|n| *n == name).count();
        if times > 1 {
            return Err(FleetError::RepeatedPair {
                name: name.clone(),
                times,
            });
        }
        match config.pairs.iter().find(|p| p.name == *name) {
            Some(p) => out.push(p),
            None => {
                return Err(FleetError::UnknownPair {
                    name: name.clone(),
                    known: config.pairs.iter().map(|p| p.name.clone()).collect(),
                })
            }
        }
    }
    Ok(out)
}

/// Whether `path` holds `{pair}`.
pub fn has_placeholder(path: &Path) -> bool {
    path.to_string_lossy().contains(PAIR_PLACEHOLDER)
}

/// Refuses, for a run of `pairs` pairs, a path of `flag` that every pair would write: one
/// without `{pair}` when there is more than one pair.
pub fn check_path(flag: &'static str, path: &Path, pairs: usize) -> Result<(), FleetError> {
    if pairs > 1 && !has_placeholder(path) {
        return Err(FleetError::PathWithoutPair {
            flag,
            path: path.to_path_buf(),
            pairs,
        });
    }
    Ok(())
}

/// `path` with every `{pair}` replaced by the pair's name (a pair name holds only letters,
/// digits, `-`, `_` and `.`, and is never `.` or `..`, so it stays one path component).
pub fn pair_path(path: &Path, pair: &str) -> PathBuf {
    if !has_placeholder(path) {
        return path.to_path_buf();
    }
    PathBuf::from(path.to_string_lossy().replace(PAIR_PLACEHOLDER, pair))
}

/// How one pair of a fleet ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairOutcome {
    pub name: String,
    pub code: Exit,
    /// Its summary line.
    pub line: String,
    /// Why it did not pass, in one sentence (`None` when it passed).
    pub reason: Option<String>,
}

impl PairOutcome {
    /// A pair that was audited: its report's verdict, counts and reason.
    pub fn audited(pair: &PairConfig, report: &Report) -> PairOutcome {
        let t = &report.summary.totals;
        let code = report.gate.exit_code;
        let line = format!(
            "{}: {} (exit {code}), {} -> {}: {} fail, {} error, {} waived, {} pass; {}",
            pair.name,
            report.gate.verdict.as_str().to_uppercase(),
            pair.source,
            pair.targets.join(", "),
            t.fail,
            t.error,
            t.waived,
            t.pass,
            report.gate.reason
        );
        PairOutcome {
            name: pair.name.clone(),
            code,
            line,
            reason: (code != Exit::Pass).then(|| report.gate.reason.clone()),
        }
    }

    /// A pair that could not be audited at all (`message` says why), so has no report.
    pub fn not_audited(pair: &PairConfig, code: Exit, message: &str) -> PairOutcome {
        PairOutcome {
            name: pair.name.clone(),
            code,
            line: format!(
                "{}: NOT AUDITED (exit {code}), {} -> {}: {message}",
                pair.name,
                pair.source,
                pair.targets.join(", ")
            ),
            reason: Some(message.to_string()),
        }
    }
}

/// The worst exit of the pairs, by the precedence of the exit codes (3, 4, 1, 2, 0).
pub fn worst(outcomes: &[PairOutcome]) -> Exit {
    outcomes.iter().fold(Exit::Pass, |w, o| w.worst(o.code))
}

/// The last line of the summary: how many pairs ended how, and the run's exit.
pub fn total_line(outcomes: &[PairOutcome]) -> String {
    let count = |code: Exit| outcomes.iter().filter(|o| o.code == code).count();
    let n = outcomes.len();
    format!(
        "total: {n} pair{}: {} pass, {} fail, {} incomplete, {} unreachable; exit {} (the worst pair's)",
        if n == 1 { "" } else { "s" },
        count(Exit::Pass),
        count(Exit::GateFailed),
        count(Exit::Incomplete),
        count(Exit::Access),
        worst(outcomes)
    )
}

/// The paragraph a fleet that did not pass prints on stderr: each pair that did not pass, with
/// its exit and reason. `None` when every pair passed.
pub fn exit_paragraph(outcomes: &[PairOutcome]) -> Option<String> {
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.code != Exit::Pass)
        .map(|o| {
            format!(
                "{} (exit {}): {}",
                o.name,
                o.code,
                o.reason.as_deref().unwrap_or_default()
            )
        })
        .collect();
    if failed.is_empty() {
        return None;
    }
    Some(format!(
        "preclone: {} of {} pairs did not pass; the run exits {}, the worst of them. {}. Each \
         pair's reports say what to fix.",
        failed.len(),
        outcomes.len(),
        worst(outcomes),
        failed.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(names: &[&str]) -> Config {
        Config {
            path: Some("preclone.toml".into()),
            pairs: names
                .iter()
                .map(|n| PairConfig {
                    name: n.to_string(),
                    source: "prod".into(),
                    targets: vec!["dev".into()],
                })
                .collect(),
            ..Config::default()
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_pair_in_file_order_or_the_named_ones_in_the_order_given() {
        let c = config(&["a", "b", "c"]);
        let all: Vec<&str> = select(&c, &[])
            .expect("all")
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(all, ["a", "b", "c"]);
        let some = select(&c, &names(&["c", "a"])).expect("named");
        assert_eq!(
            some.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["c", "a"]
        );
    }

    #[test]
    fn unknown_repeated_and_missing_pairs_are_refused() {
        let c = config(&["a", "b"]);
        let e = select(&c, &names(&["a", "x"])).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "--pairs x: no [[pair]] of the config is named so; the config defines a, b"
        );
        let e = select(&c, &names(&["b", "b"])).expect_err("twice");
        assert!(
            matches!(e, FleetError::RepeatedPair { times: 2, .. }),
            "{e}"
        );
        let e = select(&Config::default(), &[]).expect_err("none");
        assert!(e.to_string().contains("no config file was read"), "{e}");
        let e = select(&config(&[]), &[]).expect_err("none");
        assert!(
            e.to_string()
                .starts_with("--pairs: preclone.toml defines no [[pair]]"),
            "{e}"
        );
    }

    #[test]
    fn a_path_names_its_pair_when_there_are_several() {
        let p = Path::new("out/{pair}/report-{pair}.html");
        assert_eq!(
            pair_path(p, "prod-dev"),
            Path::new("out/prod-dev/report-prod-dev.html")
        );
        assert_eq!(pair_path(Path::new("r.json"), "x"), Path::new("r.json"));
        assert!(check_path("-o", p, 3).is_ok());
        assert!(check_path("-o", Path::new("r.json"), 1).is_ok());
        let e = check_path("-o", Path::new("r.json"), 2).expect_err("shared path");
        assert!(
            e.to_string().starts_with(
                "-o r.json: 2 pairs would all share this one file; put {pair} in the path"
            ),
            "{e}"
        );
    }

    #[test]
    fn the_total_counts_each_ending_and_the_run_takes_the_worst() {
        let pair = &config(&["p"]).pairs[0];
        let o = |code| PairOutcome {
            code,
            ..PairOutcome::not_audited(pair, code, "why")
        };
        let all = [
            o(Exit::Pass),
            o(Exit::Incomplete),
            o(Exit::GateFailed),
            o(Exit::Pass),
        ];
        assert_eq!(worst(&all), Exit::GateFailed);
        assert_eq!(
            total_line(&all),
            "total: 4 pairs: 2 pass, 1 fail, 1 incomplete, 0 unreachable; exit 1 (the worst pair's)"
        );
        assert_eq!(worst(&[o(Exit::GateFailed), o(Exit::Access)]), Exit::Access);
        assert_eq!(
            worst(&[o(Exit::Incomplete), o(Exit::Pass)]),
            Exit::Incomplete
        );
        assert_eq!(worst(&[]), Exit::Pass);
        let text = exit_paragraph(&all).expect("some did not pass");
        assert!(
            text.starts_with("preclone: 2 of 4 pairs did not pass; the run exits 1"),
            "{text}"
        );
        assert!(text.contains("p (exit 2): why; p (exit 1): why"), "{text}");
        assert_eq!(exit_paragraph(&[o(Exit::Pass)]), None);
    }
}
