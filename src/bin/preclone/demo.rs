//! `preclone demo`: the embedded sample estate, judged with its default waivers. No network, no
//! config file; the gate is off unless `--fail-on` says otherwise.

use crate::audit::{
    check_evidence_path, finish, load_baseline, load_waivers, outputs, save_evidence, Judging,
};
use crate::{env, usage, Failure};
use preclone::cli::DemoArgs;
use preclone::exit::Exit;
use preclone::finding::FailOn;
use preclone::settings::Clock;

pub(crate) fn run(args: DemoArgs) -> Result<Exit, Failure> {
    let outs = outputs(&args.report.output)?;
    check_evidence_path(args.save_evidence.as_deref())?;
    let baseline = load_baseline(&args.report.baseline)?;
    let clock = Clock::from_env(env).map_err(usage)?;
    let evidence = preclone::demo::evidence(clock.started_at, &clock.run_id);
    let waivers = match load_waivers(args.report.waivers.as_deref())? {
        Some(w) => w,
        None => preclone::demo::waivers(clock.started_at),
    };
    save_evidence(args.save_evidence.as_deref(), &evidence)?;
    let fail_on = args.report.fail_on.unwrap_or(FailOn::Never);
    let judging = Judging {
        waivers: &waivers,
        fail_on,
        clock: &clock,
        args: &args.report,
        baseline: baseline.as_ref(),
    };
    finish(&evidence, &judging, &outs, None)
}
