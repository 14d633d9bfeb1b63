//! Which clones onto a target are simulated (PRODUCT.md 2.1 step 0): every pending request of
//! both request tables whose `instance` record names the target, each on its own, or, with
//! none, the clone that would be requested today. A pending request whose target cannot be
//! resolved leaves every target undecided, naming the request.

use crate::evidence::{
    CloneProfile, CloneRequest, CloneSetup, InstanceEvidence, InstanceRecord, Unreadable,
};
use crate::tables;
use chrono::NaiveDateTime;

/// What a request's state says of it. Compared case-insensitively, `_` read as a blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    /// Draft, Requested, Scheduled, Hold: still to run.
    Pending,
    /// Running, finished, canceled, failed or rolled back: not a clone to come.
    Done,
    /// None of the documented states (empty included): counted as pending, and named.
    Unknown,
}

/// The documented states of a request still to run.
const PENDING: &[&str] = &["draft", "requested", "scheduled", "hold"];

/// The documented states of a request running or over (docs clone-states, and the console's
/// Running).
const DONE: &[&str] = &[
    "active",
    "running",
    "completed",
    "canceled",
    "cancelled",
    "error",
    "rollback requested",
    "rolling back",
    "rolled back",
    "rollback failure",
];

pub fn state_kind(state: &str) -> StateKind {
    let s = state.trim().to_ascii_lowercase().replace('_', " ");
    if PENDING.contains(&s.as_str()) {
        StateKind::Pending
    } else if DONE.contains(&s.as_str()) {
        StateKind::Done
    } else {
        StateKind::Unknown
    }
}

/// Whether a request is still to run: a pending state, or one that is none of the known ones.
pub fn is_pending(request: &CloneRequest) -> bool {
    state_kind(&request.state) != StateKind::Done
}

/// How results name a request: its number (`clone_id` or `request_id`) or else its sys_id, its
/// table, its scheduled time, and a state that is none of the known ones.
pub fn label(r: &CloneRequest) -> String {
    let id = if r.number.is_empty() {
        &r.sys_id
    } else {
        &r.number
    };
    let when = if r.scheduled.is_empty() {
        "no scheduled time".to_string()
    } else {
        format!("scheduled {}", r.scheduled)
    };
    let state = match state_kind(&r.state) {
        StateKind::Unknown if r.state.trim().is_empty() => {
            ", no state: counted as pending".to_string()
        }
        StateKind::Unknown => format!(
            ", state \"{}\" is not a known one: counted as pending",
            r.state.trim()
        ),
        _ => String::new(),
    };
    format!("clone request {id} in {}, {when}{state}", r.table.name())
}

/// A date-time as the Table API gives it (`YYYY-MM-DD HH:MM:SS`, UTC); `None` when it is not one.
pub fn time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S").ok()
}

/// The options of a clone that decide what it keeps and removes (`None`: unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloneOptions {
    pub preserve_theme: Option<bool>,
    pub exclude_all_from_exclusion_list: Option<bool>,
    pub exclude_large_data: Option<bool>,
}

impl CloneOptions {
    pub fn of_request(r: &CloneRequest) -> Self {
        CloneOptions {
            preserve_theme: r.preserve_theme,
            exclude_all_from_exclusion_list: r.exclude_all_from_exclusion_list,
            exclude_large_data: r.exclude_large_data,
        }
    }

    pub fn of_profile(p: &CloneProfile) -> Self {
        CloneOptions {
            preserve_theme: p.preserve_theme,
            exclude_all_from_exclusion_list: p.exclude_all_from_exclusion_list,
            exclude_large_data: p.exclude_large_data,
        }
    }

    /// Whether the custom exclusion list applies: `exclude_all_from_exclusion_list` (its
    /// platform default is true) and `exclude_large_data` both on. An unknown option counts as
    /// applying it, the cautious reading for survival.
    pub fn custom_exclusions_apply(&self) -> bool {
        self.exclude_all_from_exclusion_list != Some(false)
            && self.exclude_large_data != Some(false)
    }
}

/// One clone onto a target to simulate.
#[derive(Debug, Clone, PartialEq)]
pub enum CloneSpec {
    /// A pending request naming the target.
    Request(CloneRequest),
    /// No pending request names it: the clone that would be requested today.
    Today,
}

impl CloneSpec {
    pub fn request(&self) -> Option<&CloneRequest> {
        match self {
            CloneSpec::Request(r) => Some(r),
            CloneSpec::Today => None,
        }
    }

    /// How results name this clone; `None` for the clone requested today.
    pub fn label(&self) -> Option<String> {
        self.request().map(label)
    }
}

/// The host (with a port other than the scheme's default) of a URL or bare host name,
/// lower-cased; a trailing slash, path and user info are ignored.
pub fn host_of(url: &str) -> String {
    let u = url.trim().to_ascii_lowercase();
    let (scheme, rest) = match u.split_once("://") {
        Some((s, r)) => (s.to_string(), r.to_string()),
        None => (String::new(), u),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match (scheme.as_str(), host.rsplit_once(':')) {
        ("https", Some((h, "443"))) | ("http", Some((h, "80"))) => h,
        _ => host,
    };
    host.trim_end_matches('.').to_string()
}

/// Whether an `instance` record names the instance configured at `url`: its `instance_url` by
/// host, or its `instance_name` against the host's first label (case-insensitive).
pub fn record_names(record: &InstanceRecord, url: &str) -> bool {
    let host = host_of(url);
    if host.is_empty() {
        return false;
    }
    let by_url = !record.instance_url.trim().is_empty() && host_of(&record.instance_url) == host;
    let label = host.split('.').next().unwrap_or_default();
    let name = record.instance_name.trim();
    by_url || (!name.is_empty() && name.eq_ignore_ascii_case(label))
}

/// Every clone request of the source: `clone_instance`'s, then the console's (none where the
/// release lacks that table).
pub fn all_requests(setup: &CloneSetup) -> Result<Vec<&CloneRequest>, Unreadable> {
    let mut out: Vec<&CloneRequest> = setup.clone_requests.as_result()?.iter().collect();
    if let Some(console) = setup.console_requests.as_result()? {
        out.extend(console);
    }
    Ok(out)
}

/// The `instance` record a request's target points to, or why its target cannot be resolved.
fn resolve<'s>(setup: &'s CloneSetup, r: &CloneRequest) -> Result<&'s InstanceRecord, Unreadable> {
    let cannot = |why: String| Unreadable {
        table: tables::INSTANCE.name.into(),
        reason: format!(
            "the target of pending {} cannot be resolved: {why}",
            label(r)
        ),
    };
    let records = setup
        .target_records
        .as_result()
        .map_err(|e| cannot(format!("{} unreadable ({})", e.table, e.reason)))?;
    if r.target_instance.is_empty() {
        return Err(cannot("it names no target instance".into()));
    }
    let record = records
        .iter()
        .find(|i| i.sys_id == r.target_instance)
        .ok_or_else(|| {
            cannot(format!(
                "its instance record {} was not returned",
                r.target_instance
            ))
        })?;
    if record.instance_url.trim().is_empty() && record.instance_name.trim().is_empty() {
        return Err(cannot(format!(
            "its instance record {} has neither instance_url nor instance_name",
            record.sys_id
        )));
    }
    Ok(record)
}

/// The clones onto `target` to simulate: each pending request whose target resolves to it (a
/// request resolving to an instance not audited is ignored), or, with none, the clone requested
/// today. Unreadable when a request table is, or when any pending request's target cannot be
/// resolved (it could be this one).
pub fn clones_onto(
    setup: &CloneSetup,
    target: &InstanceEvidence,
) -> Result<Vec<CloneSpec>, Unreadable> {
    let mut specs = Vec::new();
    for r in all_requests(setup)?.into_iter().filter(|r| is_pending(r)) {
        if record_names(resolve(setup, r)?, &target.url) {
            specs.push(CloneSpec::Request(r.clone()));
        }
    }
    if specs.is_empty() {
        specs.push(CloneSpec::Today);
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_compare_case_insensitively_and_unknown_ones_are_pending() {
        for s in ["Scheduled", "scheduled", " HOLD ", "draft", "Requested"] {
            assert_eq!(state_kind(s), StateKind::Pending, "{s}");
        }
        for s in [
            "Completed",
            "CANCELLED",
            "canceled",
            "Rolled back",
            "rollback_failure",
        ] {
            assert_eq!(state_kind(s), StateKind::Done, "{s}");
        }
        for s in ["", "Awaiting approval", "complete", "failed"] {
            assert_eq!(state_kind(s), StateKind::Unknown, "{s}");
        }
    }

    #[test]
    fn a_record_names_an_instance_by_host_or_by_first_label() {
        let record = |url: &str, name: &str| InstanceRecord {
            sys_id: "i1".into(),
            instance_name: name.into(),
            instance_url: url.into(),
            production: None,
        };
        let dev = "https://acmedev.service-now.com";
        assert!(record_names(
            &record("HTTPS://AcmeDev.service-now.com/", ""),
            dev
        ));
        assert!(record_names(&record("acmedev.service-now.com", ""), dev));
        assert!(record_names(&record("", "ACMEDEV"), dev));
        assert!(!record_names(
            &record("https://acmetest.service-now.com", "acmetest"),
            dev
        ));
        assert!(record_names(
            &record("https://acmedev.service-now.com:443", ""),
            dev
        ));
        // Local instances differ by port only.
        assert!(!record_names(
            &record("http://127.0.0.1:8081", ""),
            "http://127.0.0.1:8080"
        ));
        assert!(!record_names(&record("", ""), dev));
    }
}
