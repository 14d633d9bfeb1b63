//! `preclone fix`: settings → collect (or read saved evidence) → `fix::plan` → the XML file to
//! import on the source and the Markdown beside it. Nothing is ever written to an instance.
//!
//! Exit codes (PRODUCT.md section 3): 0 when the files are written, or when there is nothing to
//! fix (said so, no file); 2 with nothing written when the source's preservers, profiles or
//! clone requests could not be read, and also when nothing is to be written but some result at
//! or above `--fail-on` could not be decided (then "nothing to fix" cannot be said;
//! `--allow-incomplete` says it anyway); 3 and 4 as for `audit`.

use crate::audit::{collect_live, load_waivers, read_evidence};
use crate::{env, print_stdout, usage, Failure};
use preclone::cli::FixArgs;
use preclone::config::Config;
use preclone::exit::Exit;
use preclone::fix::{self, Finding, Fix};
use preclone::output::write_atomic;
use preclone::preflight::check_writable;
use preclone::report::console::clean;
use preclone::settings::{Clock, RunSettings};
use std::fmt::Write;
use std::path::{Path, PathBuf};

pub(crate) fn run(args: FixArgs) -> Result<Exit, Failure> {
    let (xml_path, md_path) = outputs(&args.output)?;
    let waivers = load_waivers(args.waivers.as_deref())?.unwrap_or_default();
    let config = Config::load(args.config.as_deref()).map_err(usage)?;
    let settings = RunSettings::for_fix(&args, &config);
    let clock = Clock::from_env(env).map_err(usage)?;
    let evidence = match &args.evidence {
        Some(path) => read_evidence(path)?,
        None => {
            let run = config
                .resolve_run(
                    args.source.as_deref().unwrap_or_default(),
                    &args.targets,
                    &env,
                )
                .map_err(usage)?;
            let (evidence, access_failure) =
                collect_live(&run, &settings, &clock, (args.no_progress, args.quiet))?;
            if let Some(why) = access_failure {
                return Err(Failure {
                    code: Exit::Access,
                    message: format!("{why}. Nothing was written."),
                });
            }
            evidence
        }
    };
    let fix =
        fix::plan(&evidence, &waivers, clock.now(), &mut fix::random_sys_id).map_err(|e| {
            Failure {
                code: Exit::Incomplete,
                message: e.to_string(),
            }
        })?;
    if fix.is_empty() {
        return nothing_to_fix(&fix, &args, settings.fail_on.threshold());
    }
    let xml_name = xml_path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    write_atomic(&xml_path, &fix::xml::render(&fix)).map_err(usage)?;
    write_atomic(&md_path, &fix::markdown::render(&fix, &xml_name)).map_err(usage)?;
    if !args.quiet {
        print_stdout(&summary(&fix, &xml_path, &md_path))?;
    }
    if !fix.undecided.is_empty() {
        eprintln!(
            "preclone: {} result(s) could not be decided, so the fix may not close every gap; {} lists them.",
            fix.undecided.len(),
            md_path.display()
        );
    }
    Ok(Exit::Pass)
}

/// The XML path and the Markdown beside it, both checked before any instance is contacted.
fn outputs(xml: &Path) -> Result<(PathBuf, PathBuf), Failure> {
    let is_xml = xml
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
    if xml == Path::new("-") || !is_xml {
        return Err(usage(format!(
            "-o {}: fix writes an XML file to import on the source; give a path ending in .xml (the Markdown beside it takes the same name with .md)",
            xml.display()
        )));
    }
    let md = xml.with_extension("md");
    check_writable("-o", xml).map_err(usage)?;
    check_writable("-o", &md).map_err(usage)?;
    Ok((xml.to_path_buf(), md))
}

/// No record to write: said so, with the manual steps, unless a result that could reach the
/// gate was not decided (exit 2: "nothing to fix" would reassure without knowing).
fn nothing_to_fix(
    fix: &Fix,
    args: &FixArgs,
    threshold: Option<preclone::finding::Severity>,
) -> Result<Exit, Failure> {
    let blocking: Vec<&Finding> = fix
        .undecided
        .iter()
        .filter(|f| threshold.is_some_and(|t| f.severity >= t))
        .collect();
    if !blocking.is_empty() && !args.allow_incomplete {
        let mut message = format!(
            "could not tell whether anything needs fixing: {} result(s) could not be decided, so no file was written. Make what they name readable (run `preclone doctor`) and run fix again; --allow-incomplete writes what can be decided.",
            blocking.len()
        );
        for f in blocking.iter().take(5) {
            let _ = write!(message, "\n  {}: {}", line(f), clean(&f.message, false));
        }
        return Err(Failure {
            code: Exit::Incomplete,
            message,
        });
    }
    if !args.quiet {
        let (source, targets) = (
            clean(&fix.source, false),
            clean(&fix.targets.join(", "), false),
        );
        let mut text = if fix.undecided.is_empty() {
            format!("preclone fix: nothing to fix on {source}: no preserver is missing or left out for the MID users, certificate logins and clusters of {targets}. No file was written.\n")
        } else {
            format!(
                "preclone fix: nothing to write from what could be read on {source} and {targets}: {} result(s) could not be decided, so a gap may be hidden there. No file was written.\n",
                fix.undecided.len()
            )
        };
        if !fix.manual.is_empty() {
            text.push_str("\nWhat no preserver can do, by hand:\n");
            for (i, m) in fix.manual.iter().enumerate() {
                let _ = writeln!(text, "{}. {}", i + 1, clean(m, false));
            }
        }
        print_stdout(&text)?;
    }
    Ok(Exit::Pass)
}

fn summary(fix: &Fix, xml: &Path, md: &Path) -> String {
    let (mut created, mut updated, mut links) = (0, 0, 0);
    for f in &fix.fixes {
        match f.change {
            Some(fix::Change::Create) => created += 1,
            Some(fix::Change::Update(_)) => updated += 1,
            None => {}
        }
        links += f.links.len();
    }
    let closed = fix.closed();
    let mut text = format!(
        "preclone fix: wrote {} record(s) to {} ({created} new preserver(s), {updated} update(s), {links} profile link(s)), closing {} finding(s); what each does: {}\n",
        fix.record_count(),
        xml.display(),
        closed.len(),
        md.display()
    );
    for f in closed.iter().take(10) {
        let _ = writeln!(text, "  closes {}", line(f));
    }
    if closed.len() > 10 {
        let _ = writeln!(text, "  and {} more", closed.len() - 10);
    }
    if !fix.manual.is_empty() {
        let _ = writeln!(
            text,
            "{} manual step(s): see {}",
            fix.manual.len(),
            md.display()
        );
    }
    if !fix.new_fails.is_empty() {
        let _ = writeln!(
            text,
            "{} finding(s) would newly fail after the import: see {}",
            fix.new_fails.len(),
            md.display()
        );
    }
    let _ = writeln!(
        text,
        "Review it, import it on {} (a list → Import XML), then run `preclone audit` again.",
        fix.source
    );
    text
}

/// A finding on one terminal line: `severity check-id on instance: subject`.
fn line(f: &Finding) -> String {
    format!(
        "{} {} on {}: {}",
        f.severity.as_str(),
        f.check,
        clean(&f.instance, false),
        clean(&f.subject.name, false)
    )
}
