//! From evidence to the one [`Report`]: judge every check, apply the waivers, build the report
//! (tracing each undecided result to the instance and cause behind it) and decide the gate. `audit` (online and `--evidence`), `render` of an evidence file and `demo` all
//! come through here, so they cannot decide differently.

use crate::checks::{self, Judgement};
use crate::evidence::Evidence;
use crate::report::build::{self, BuildInput};
use crate::report::Report;
use crate::waivers::{self, Waiver};
use chrono::{DateTime, Utc};

pub use crate::report::build::GateOptions;

/// Judges `evidence`, applies `waivers` by the clock `now` (so an old evidence file does not
/// revive an expired waiver), and builds the report with its gate.
pub fn judge(
    evidence: &Evidence,
    waivers: &[Waiver],
    gate: GateOptions,
    now: DateTime<Utc>,
) -> Report {
    let Judgement {
        mut results,
        inventory,
        impact,
    } = checks::run(evidence);
    let waivers = waivers::apply(&mut results, waivers, now);
    build::build(
        evidence,
        BuildInput {
            results,
            impact,
            inventory,
            waivers,
            gate,
        },
    )
}
