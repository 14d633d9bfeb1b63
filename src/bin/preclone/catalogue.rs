//! `preclone checks` (the catalogue, as a table or JSON) and `preclone explain ID`.

use crate::{print_stdout, usage, Failure};
use preclone::checks::{self, CATALOGUE};
use preclone::cli::{ChecksArgs, ExplainArgs};
use preclone::exit::Exit;

pub(crate) fn checks(args: ChecksArgs) -> Result<Exit, Failure> {
    let mut out = String::new();
    if args.json {
        out = serde_json::to_string_pretty(CATALOGUE).map_err(usage)? + "\n";
    } else {
        for c in CATALOGUE {
            out.push_str(&format!(
                "{:<34} {:<9} {}\n",
                c.id.as_str(),
                c.severity.as_str(),
                c.title
            ));
        }
    }
    print_stdout(&out)?;
    Ok(Exit::Pass)
}

pub(crate) fn explain(args: ExplainArgs) -> Result<Exit, Failure> {
    let Some(c) = checks::find(&args.check_id) else {
        return Err(usage(format!(
            "unknown check id {:?}. Run `preclone checks` to list the {} checks.",
            args.check_id,
            CATALOGUE.len()
        )));
    };
    let max = if c.max_severity != c.severity {
        format!(", up to {}", c.max_severity)
    } else {
        String::new()
    };
    print_stdout(&format!(
        "{id}  ({sev}{max})\n{title}\nFamily: {fam}\n\nWhy it matters\n  {why}\n\nHow it is decided\n  {how}\n\nWhat to do\n  {fix}\n",
        id = c.id,
        sev = c.severity,
        title = c.title,
        fam = c.family.title(),
        why = c.rationale,
        how = c.decided,
        fix = c.remediation,
    ))?;
    Ok(Exit::Pass)
}
