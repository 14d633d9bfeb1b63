//! `preclone render FILE -o …`: a saved evidence file (judged again, by this run's clock) or a
//! JSON report, written in other formats. Offline; prints nothing on stdout.

use crate::audit::{
    compare, is_stdout, load_baseline, load_waivers, outputs, parse_evidence, write_reports,
};
use crate::{env, usage, Failure};
use preclone::cli::RenderArgs;
use preclone::exit::Exit;
use preclone::finding::FailOn;
use preclone::report;
use preclone::settings::Clock;
use preclone::verdict::{self, GateOptions};

pub(crate) fn run(args: RenderArgs) -> Result<Exit, Failure> {
    if args.output.iter().any(|p| is_stdout(p)) {
        return Err(usage(
            "render writes files; for a format on standard output use `preclone audit --evidence FILE --format FORMAT`",
        ));
    }
    let outs = outputs(&args.output)?;
    let baseline = load_baseline(&args.baseline)?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| usage(format!("cannot read {}: {e}", args.file.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "{} is not JSON ({e}): give a saved evidence file or a JSON report",
            args.file.display()
        ))
    })?;
    let mut report = if value.get("instances").is_some() {
        let evidence = parse_evidence(value, &args.file)?;
        let waivers = load_waivers(args.waivers.as_deref())?.unwrap_or_default();
        let clock = Clock::from_env(env).map_err(usage)?;
        let gate = GateOptions {
            fail_on: args.fail_on.unwrap_or(FailOn::High),
            allow_incomplete: false,
            access_failure: None,
        };
        verdict::judge(&evidence, &waivers, gate, clock.now())
    } else {
        report::json::parse(&text).map_err(usage)?
    };
    compare(&mut report, baseline.as_ref(), &args.baseline)?;
    write_reports(&report, &outs, false)?;
    Ok(Exit::Pass)
}
