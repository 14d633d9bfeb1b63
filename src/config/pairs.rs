//! The `[[pair]]` tables of `preclone.toml`: the source/target pairs of a fleet, audited together
//! by `preclone audit --pairs`. Validated like the rest of the file: every problem named by its
//! key path (`pair[1].targets[0]`), all at once.

use super::validate::{join_key, required_str, unknown_keys, valid_instance_name};
use super::PairConfig;
use crate::toml_check::type_name;

const PAIR_KEYS: &[&str] = &["name", "source", "targets"];

/// The `[[pair]]` tables, in file order. `instances` are the names of the file's
/// `[instance.NAME]` tables (an instance with problems of its own still counts as defined, so
/// that its problems are not reported twice). A pair with a problem is left out.
pub(super) fn pairs(
    doc: &toml::Table,
    instances: &[String],
    problems: &mut Vec<String>,
) -> Vec<PairConfig> {
    let items = match doc.get("pair") {
        None => return Vec::new(),
        Some(toml::Value::Array(items)) => items,
        Some(other) => {
            problems.push(format!(
                "pair: must be a list of [[pair]] tables (name, source, targets), not {}",
                type_name(other)
            ));
            return Vec::new();
        }
    };
    let mut out: Vec<PairConfig> = Vec::new();
    // Each name and the first pair that holds it, whether or not that pair is valid.
    let mut names: Vec<(&str, String)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("pair[{i}]");
        let pair = parse_pair(item, &path, instances, problems);
        let Some(name) = item.get("name").and_then(toml::Value::as_str) else {
            continue;
        };
        match names.iter().find(|(n, _)| *n == name) {
            Some((_, first)) => problems.push(format!(
                "{}: the pair name {name:?} is already used by {first}; give every pair its own \
                 name (its reports are written under it)",
                join_key(&path, "name"),
            )),
            None => {
                names.push((name, path));
                out.extend(pair);
            }
        }
    }
    out
}

fn parse_pair(
    item: &toml::Value,
    path: &str,
    instances: &[String],
    problems: &mut Vec<String>,
) -> Option<PairConfig> {
    let toml::Value::Table(table) = item else {
        problems.push(format!(
            "{path}: must be a table ([[pair]] with name, source and targets), not {}",
            type_name(item)
        ));
        return None;
    };
    let before = problems.len();
    unknown_keys(table, path, PAIR_KEYS, problems);
    let name = required_str(table, path, "name", problems);
    if let Some(n) = &name {
        if !valid_pair_name(n) {
            problems.push(format!(
                "{}: {n:?} cannot name a pair: it is put into report paths ({{pair}}), so it may \
                 hold only letters, digits, '-', '_' and '.', and is not . or ..",
                join_key(path, "name")
            ));
        }
    }
    let source = required_str(table, path, "source", problems);
    if let Some(s) = &source {
        known_instance(s, &join_key(path, "source"), instances, problems);
    }
    let targets = targets(table, path, source.as_deref(), instances, problems);
    match (name, source, targets) {
        (Some(name), Some(source), Some(targets)) if problems.len() == before => Some(PairConfig {
            name,
            source,
            targets,
        }),
        _ => None,
    }
}

/// `targets`: a non-empty list of instance names, each once, none the source.
fn targets(
    table: &toml::Table,
    path: &str,
    source: Option<&str>,
    instances: &[String],
    problems: &mut Vec<String>,
) -> Option<Vec<String>> {
    let key = join_key(path, "targets");
    let items = match table.get("targets") {
        None => {
            problems.push(format!(
                "{key}: missing (the instances cloned over, e.g. targets = [\"dev\", \"test\"])"
            ));
            return None;
        }
        Some(toml::Value::Array(items)) if items.is_empty() => {
            problems.push(format!("{key}: must name at least one target instance"));
            return None;
        }
        Some(toml::Value::Array(items)) => items,
        Some(other) => {
            problems.push(format!(
                "{key}: must be a list of instance names, e.g. [\"dev\", \"test\"], not {}",
                type_name(other)
            ));
            return None;
        }
    };
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        let toml::Value::String(name) = item else {
            problems.push(format!(
                "{item_key}: must be an instance name, not {}",
                type_name(item)
            ));
            continue;
        };
        if out.contains(name) {
            problems.push(format!(
                "{item_key}: {name:?} is listed twice; name each target once"
            ));
        } else if Some(name.as_str()) == source {
            problems.push(format!(
                "{item_key}: {name:?} is the pair's source: the source is the instance cloned \
                 from, a target one cloned over; drop it from targets"
            ));
        } else if known_instance(name, &item_key, instances, problems) {
            out.push(name.clone());
        }
    }
    Some(out)
}

/// Whether `name` is an `[instance.NAME]` of the file; a problem naming `key` when not. A URL is
/// refused too: a pair names instances of the file, whose credentials the file names.
fn known_instance(name: &str, key: &str, instances: &[String], problems: &mut Vec<String>) -> bool {
    if instances.iter().any(|i| i == name) {
        return true;
    }
    let known = if instances.is_empty() {
        "the file defines no [instance.NAME] table".to_string()
    } else {
        format!("the file defines {}", instances.join(", "))
    };
    problems.push(format!(
        "{key}: unknown instance {name:?} ({known}); a pair names instances of this file, not URLs"
    ));
    false
}

/// A pair name goes into file paths: the characters of an instance name, and not a path of its
/// own (`.` or `..`).
fn valid_pair_name(name: &str) -> bool {
    valid_instance_name(name) && name != "." && name != ".."
}
