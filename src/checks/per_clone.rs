//! Results judged once per simulated clone of a target (PRODUCT.md 2.1 step 0), merged into one
//! result per (check, instance, subject): it fails when it fails under any clone and names the
//! request(s) it fails under, else it is an error when undecided under any, else it passes.

use super::ServerImpact;
use crate::checks::CheckId;
use crate::finding::{CheckResult, Status};
use std::collections::BTreeMap;

/// What one check family found under one clone.
pub(crate) struct CloneRun {
    /// How results name the clone; `None` for the clone requested today.
    pub(crate) label: Option<String>,
    pub(crate) results: Vec<CheckResult>,
    pub(crate) impact: Vec<ServerImpact>,
}

use crate::finding::ResultKey as Key;

/// Checks whose verdict does not follow from the clone's plan (the same under every clone):
/// their results never name a request.
const CLONE_INDEPENDENT: &[CheckId] = &[CheckId::MidServerLoginUnknown, CheckId::MidRoleIdDiffers];

/// Which clones a result stands under, for its message: `None` when no request names them.
fn under(labels: &[&str], every: bool) -> Option<String> {
    match labels {
        [] => None,
        [one] => Some(format!("under {one}")),
        many if every => Some(format!("under every pending request: {}", many.join("; "))),
        many => Some(format!("under {}", many.join("; "))),
    }
}

/// Merges the runs into one result per (check, instance, subject), in the order first judged,
/// and the impact of each MID Server that goes down under the clone its result names.
pub(crate) fn merge(runs: Vec<CloneRun>) -> (Vec<CheckResult>, Vec<ServerImpact>) {
    if runs.len() == 1 && runs[0].label.is_none() {
        let run = runs.into_iter().next().expect("one run");
        return (run.results, run.impact);
    }
    let mut order: Vec<Key> = Vec::new();
    let mut found: BTreeMap<Key, Vec<(usize, &CheckResult)>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for r in &run.results {
            let k = r.key();
            let entry = found.entry(k.clone()).or_default();
            if entry.is_empty() {
                order.push(k);
            }
            entry.push((i, r));
        }
    }
    let mut results = Vec::new();
    let mut impact = Vec::new();
    for k in order {
        let all = &found[&k];
        let with = |s: Status| -> Vec<(usize, &CheckResult)> {
            all.iter().filter(|(_, r)| r.status == s).copied().collect()
        };
        let (fails, errors) = (with(Status::Fail), with(Status::Error));
        let chosen = if !fails.is_empty() { fails } else { errors };
        if chosen.is_empty() {
            // Passed under every clone it was judged under.
            let mut r = all[0].1.clone();
            let labels: Vec<&str> = all
                .iter()
                .filter_map(|(i, _)| runs[*i].label.as_deref())
                .collect();
            if !labels.is_empty() {
                r.evidence.insert("clone_requests", labels.join("; "));
            }
            results.push(r);
            continue;
        }
        // The most severe, the soonest clone first on a tie.
        let (i, best) = chosen
            .iter()
            .copied()
            .max_by(|(ia, a), (ib, b)| a.severity.cmp(&b.severity).then(ib.cmp(ia)))
            .unwrap_or(chosen[0]);
        let labels: Vec<&str> = chosen
            .iter()
            .filter_map(|(i, _)| runs[*i].label.as_deref())
            .collect();
        let mut r = best.clone();
        let named = !CLONE_INDEPENDENT.contains(&r.check);
        if let Some(under) = under(&labels, chosen.len() == runs.len()).filter(|_| named) {
            r.message = format!("{} ({under})", r.message);
            if let Some(l) = &runs[i].label {
                r.evidence.insert("clone_request", l.clone());
            }
            if labels.len() > 1 {
                let what = match r.status {
                    Status::Fail => "failing_under",
                    _ => "undecided_under",
                };
                r.evidence.insert(what, labels.join("; "));
            }
        }
        if r.check == CheckId::MidServerWillGoDown && r.status == Status::Fail {
            let hit = runs[i]
                .impact
                .iter()
                .find(|m| m.instance == r.instance && m.mid_server == r.subject);
            if let Some(m) = hit {
                let mut m = m.clone();
                if let Some(l) = &runs[i].label {
                    m.because = format!("{} (under {l})", m.because);
                }
                impact.push(m);
            }
        }
        results.push(r);
    }
    (results, impact)
}
