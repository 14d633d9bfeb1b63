//! `docs/ci.md`: its config parses as a preclone config, its YAML recipes (GitHub Actions and
//! GitLab CI) parse, their matrices list the config's pairs, and every `preclone` command in
//! them and in its shell blocks is accepted by preclone's own command line (clap), with every
//! report path in a format preclone writes.

use preclone::config::Config;
use preclone::fleet::pair_path;
use preclone::report::Format;
use serde_norway::Value;
use std::path::Path;

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci.md");
    std::fs::read_to_string(path).expect("docs/ci.md")
}

/// The fenced blocks of `text` whose info string is `lang`.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) if info.trim() == lang => current = Some(String::new()),
            (None, Some(_)) => current = Some(String::from("\u{0}")),
            (Some(_), Some(_)) => {
                let block = current.take().unwrap_or_default();
                if !block.starts_with('\u{0}') {
                    out.push(block);
                }
            }
            (Some(block), None) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// The keys whose values are shell scripts: GitHub's `run`, GitLab's `script`, `before_script`
/// and `after_script`.
const SCRIPT_KEYS: &[&str] = &["run", "script", "before_script", "after_script"];

/// Every shell script of a YAML document, wherever it is.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Sequence(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Mapping(map) => {
            for (k, v) in map {
                if k.as_str().is_some_and(|k| SCRIPT_KEYS.contains(&k)) {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Sequence(lines) => {
                            out.extend(lines.iter().filter_map(|l| l.as_str().map(String::from)))
                        }
                        other => panic!("a script that is not text: {other:?}"),
                    }
                } else {
                    strings(v, out);
                }
            }
        }
        Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

/// The `preclone ...` command lines of a shell script, continuation lines joined.
fn commands(script: &str) -> Vec<String> {
    script
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("preclone "))
        .map(str::to_string)
        .collect()
}

/// A command line split as a shell splits words: quotes group and are removed; variables are
/// left as they are written.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut started) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => (quote, started) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    assert!(quote.is_none(), "unbalanced quotes in {line}");
    if started {
        out.push(word);
    }
    out
}

/// Checks one command against the command line: it parses, and every `-o` path has a format.
fn check(line: &str) -> Result<(), String> {
    let argv = words(line);
    let matches = preclone::cli::command()
        .try_get_matches_from(&argv)
        .map_err(|e| format!("`{line}` is refused:\n{e}"))?;
    if let Some(("audit", audit)) = matches.subcommand() {
        for path in audit
            .get_many::<std::path::PathBuf>("output")
            .into_iter()
            .flatten()
        {
            let path = pair_path(path, "prod-dev");
            if Format::from_extension(&path).is_none() {
                return Err(format!(
                    "`{line}`: -o {} has no report format",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// The `[[pair]]` names of the documented config, which parses as a preclone config.
fn config_pairs(text: &str) -> Vec<String> {
    let toml = blocks(text, "toml");
    assert_eq!(toml.len(), 1, "one config example");
    let config = Config::parse(&toml[0], Path::new("docs/ci.md")).expect("the config is valid");
    config.pairs.iter().map(|p| p.name.clone()).collect()
}

fn names(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|n| n.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_ci_recipes_parse_and_their_commands_are_preclone_s_own() {
    let text = doc();
    let pairs = config_pairs(&text);
    assert_eq!(pairs, ["prod-dev", "prod-test"]);
    let yaml = blocks(&text, "yaml");
    assert_eq!(yaml.len(), 2, "a GitHub Actions and a GitLab CI recipe");
    let docs: Vec<Value> = yaml
        .iter()
        .map(|y| serde_norway::from_str(y).unwrap_or_else(|e| panic!("YAML: {e}\n{y}")))
        .collect();

    let (github, gitlab) = (&docs[0], &docs[1]);
    let job = &github["jobs"]["audit"];
    assert_eq!(names(&job["strategy"]["matrix"]["pair"]), pairs);
    let steps = job["steps"].as_sequence().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs
        .iter()
        .any(|r| r.contains(">> \"$GITHUB_STEP_SUMMARY\"")));
    let uploads: Vec<&Value> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .collect();
    assert_eq!(uploads.len(), 2, "the reports, and the baseline");
    assert_eq!(uploads[0]["if"].as_str(), Some("always()"));
    assert_eq!(uploads[0]["with"]["path"].as_str(), Some("reports/"));

    let job = &gitlab["preclone"];
    assert_eq!(names(&job["parallel"]["matrix"][0]["PAIR"]), pairs);
    assert_eq!(
        job["artifacts"]["reports"]["junit"].as_str(),
        Some("reports/$PAIR.xml")
    );
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"));

    // Every preclone command, in the YAML and in the shell blocks.
    let mut scripts = Vec::new();
    docs.iter().for_each(|d| strings(d, &mut scripts));
    scripts.extend(blocks(&text, "sh"));
    let all: Vec<String> = scripts.iter().flat_map(|s| commands(s)).collect();
    assert_eq!(all.len(), 2 + 2 * 2, "{all:#?}");
    for line in &all {
        check(line).unwrap_or_else(|e| panic!("docs/ci.md: {e}"));
    }
    for (doc, yaml) in docs.iter().zip(["GitHub", "GitLab"]) {
        let mut texts = Vec::new();
        strings(doc, &mut texts);
        let lines: Vec<String> = texts.iter().flat_map(|s| commands(s)).collect();
        assert!(
            lines
                .iter()
                .all(|l| l.contains("--pairs \"$PAIR\"") && l.contains("-o \"reports/{pair}.xml\"")),
            "{yaml}: {lines:#?}"
        );
    }
}

#[test]
fn the_checker_refuses_what_preclone_refuses() {
    for bad in [
        "preclone audit --pairs a --source prod",
        "preclone audit --pair a",
        "preclone audits --pairs",
        "preclone audit --pairs -o r.txt",
        "preclone audit --pairs --fail-on severe",
        "preclone audit --pairs a --gate-on new",
        "preclone audit --pairs a --baseline b.json --gate-on old",
    ] {
        assert!(check(bad).is_err(), "{bad} passed the check");
    }
    let ok = check("preclone audit --pairs \"$PAIR\" -o 'reports/{pair}.md' --baseline b.json");
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(words("a \"b c\" 'd'  e\"f g\""), ["a", "b c", "d", "ef g"]);
    assert_eq!(
        commands("set -e\n  preclone audit \\\n  --pairs x\ncargo install preclone\n"),
        ["preclone audit    --pairs x"]
    );
}
