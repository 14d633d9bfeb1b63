//! How the target's MID Servers stand before the clone, whatever it does: which statuses do
//! work (PRODUCT.md section 4, "MID Server states"), `mid-server-already-down`, the clusters
//! each belongs to, and the versions some are pinned to (for `build-mismatch`).

use super::server_subject;
use crate::checks::{table_subject, CheckId, Ev, Judge};
use crate::evidence::{AgentIssue, InstanceEvidence, MidServer, Unreadable};
use crate::finding::CheckResult;

/// What a MID Server's status says about its work today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// `Up`, or one of the transient `Paused`, `Upgrading` and `Draining`.
    Works,
    /// `Down`, `Upgrade Failed`, `Drained` or `Drain Failed`.
    NoWork,
    /// Anything else, empty included.
    Unknown,
}

/// Reads a status case-insensitively, with `_` as a blank.
pub(super) fn status(m: &MidServer) -> Status {
    let s = m.status.trim().to_lowercase().replace('_', " ");
    match s.as_str() {
        "up" | "paused" | "upgrading" | "draining" => Status::Works,
        "down" | "upgrade failed" | "drained" | "drain failed" => Status::NoWork,
        _ => Status::Unknown,
    }
}

/// Why a status is unknown, for an undecided result.
pub(super) fn unknown_status(m: &MidServer) -> Unreadable {
    Unreadable {
        table: "ecc_agent".into(),
        reason: format!(
            "the status {:?} of MID Server {} is none of Up, Down, Paused, Upgrading, Upgrade Failed, Draining, Drained, Drain Failed",
            m.status, m.name
        ),
    }
}

/// The open issues of a MID Server (the read asks for them only; a `resolved` one that came
/// back anyway is left out).
fn open_issues<'e>(issues: &'e [AgentIssue], m: &MidServer) -> Vec<&'e AgentIssue> {
    issues
        .iter()
        .filter(|i| i.mid_server == m.sys_id && !i.state.trim().eq_ignore_ascii_case("resolved"))
        .collect()
}

/// One issue in a few words: `InstanceClone: MID Server not operational...`.
fn issue_text(i: &AgentIssue) -> String {
    let message: String = i.message.chars().take(160).collect();
    let source = if i.source.is_empty() {
        "issue"
    } else {
        i.source.as_str()
    };
    match message.is_empty() {
        true => source.to_string(),
        false => format!("{source}: {message}"),
    }
}

/// mid-server-already-down: every MID Server of the target, from its status and its open
/// issues.
pub(super) fn already_down(target: &InstanceEvidence, out: &mut Vec<CheckResult>) {
    let j = Judge::new(CheckId::MidServerAlreadyDown, &target.name);
    let servers = match target.mid_servers.as_result() {
        Ok(s) => s,
        Err(e) => return out.push(j.error(table_subject("ecc_agent"), &e)),
    };
    let issues = target.agent_issues.as_result();
    for m in servers {
        let open = issues.as_ref().map(|i| open_issues(i, m));
        let state = status(m);
        let mut why = Vec::new();
        if state == Status::NoWork {
            why.push(format!("it is {}", m.status));
        }
        if let Ok(open) = &open {
            if !open.is_empty() {
                let texts: Vec<String> = open.iter().map(|i| issue_text(i)).collect();
                why.push(format!(
                    "it has {} open issue(s): {}",
                    open.len(),
                    texts.join("; ")
                ));
            }
        }
        let ev = Ev::new().with("status", &m.status);
        if !why.is_empty() {
            let count = open.as_ref().map_or(0, Vec::len);
            out.push(j.fail(
                server_subject(m),
                format!(
                    "{} is not working before the clone: {}. After the clone, the post-clone job (BadMIDCredentialAfterClone) logs every MID Server that is Down as \"possibly due to recent clone\": it will blame the clone for this",
                    m.name,
                    why.join(", and ")
                ),
                format!("fix {} (or resolve its issues) before the clone, or note in the clone's change that it was down before, so that its post-clone issue is not blamed on the clone", m.name),
                ev.with("open_issues", count.to_string()),
            ));
        } else if let Err(e) = &open {
            out.push(j.error(server_subject(m), e));
        } else if state == Status::Unknown {
            let e = unknown_status(m);
            out.push(j.undecided(
                server_subject(m),
                format!("could not be decided: {}", e.reason),
                format!(
                    "check the status of {} on the instance (MID Server > Servers)",
                    m.name
                ),
            ));
        } else {
            out.push(j.pass(
                server_subject(m),
                format!("{} is {} with no open issue", m.name, m.status),
                ev,
            ));
        }
    }
}

/// The clusters `m` is a member of, by name (`None` when it is in none, or when the clusters
/// could not be read).
pub(super) fn clusters_of(target: &InstanceEvidence, m: &MidServer) -> Option<String> {
    let (clusters, members) = (target.clusters.get()?, target.cluster_members.get()?);
    let names: Vec<&str> = members
        .iter()
        .filter(|r| r.agent == m.sys_id)
        .filter_map(|r| clusters.iter().find(|c| c.sys_id == r.cluster))
        .map(|c| c.name.as_str())
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// The target's MID Servers pinned with `mid.pinned.version`, each as `name (version)`. A row
/// that names no MID Server pins them all.
pub(super) fn pinned(target: &InstanceEvidence) -> Result<Vec<String>, Unreadable> {
    let pins = target.mid_pins.as_result()?;
    let servers = target.mid_servers.as_result()?;
    let mut out = Vec::new();
    for m in servers {
        let pin = pins
            .iter()
            .find(|p| p.ecc_agent == m.sys_id)
            .or_else(|| pins.iter().find(|p| p.ecc_agent.is_empty()));
        if let Some(p) = pin {
            out.push(format!("{} ({})", m.name, p.value));
        }
    }
    Ok(out)
}
