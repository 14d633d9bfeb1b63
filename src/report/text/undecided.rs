//! Phrases about what could not be decided: the kind of a cause in a few words, the fix it
//! calls for, the undecided results grouped by cause, and the MID Servers whose fate is open.

use super::{and_list, instance_infos, instance_order, subject_text, with_status, TABLE_SUBJECT};
use crate::evidence::Cause;
use crate::finding::{CheckResult, ErrorCause, Status};
use crate::report::model::{ReadState, Report, UndecidedServer};

/// A few words for a cause: `read denied by an ACL`.
pub(crate) fn cause_label(kind: Cause) -> &'static str {
    match kind {
        Cause::Credentials => "credentials refused",
        Cause::Unreachable => "could not be reached",
        Cause::Html => "answered with an HTML page, not the REST API",
        Cause::Acl => "read denied by an ACL",
        Cause::Timeout => "no answer in time",
        Cause::RateLimited => "rate limited",
        Cause::NotRead => "not read",
        Cause::UnknownValue => "a value was missing or malformed",
        Cause::Other => "could not be read",
    }
}

/// What to do about `kind` on `instance`; `tables` are those that could not be read there.
pub(crate) fn fix_text(kind: Cause, instance: &str, tables: &[&str]) -> String {
    let tables = if tables.is_empty() {
        "the tables preclone reads".to_string()
    } else {
        and_list(tables)
    };
    match kind {
        Cause::Credentials => format!(
            "check the credentials configured for {instance} (user name and password, token or \
             OAuth client), and that the account is active, not locked out and may use the REST \
             API; then run `preclone doctor {instance}` and the audit again"
        ),
        Cause::Unreachable => format!(
            "check {instance}'s URL, DNS, proxy (HTTPS_PROXY) and TLS from this machine with \
             `preclone doctor {instance}`, then run the audit again"
        ),
        Cause::Html => format!(
            "wake {instance} if it is hibernating (open its URL in a browser), or bypass SSO with \
             an account that logs in to the REST API directly; then run the audit again"
        ),
        Cause::Acl => format!(
            "grant the audit user read access to {tables} on {instance} (a role with a read ACL \
             on each table and the fields preclone reads), then run the audit again; \
             `preclone doctor {instance}` shows what it can read"
        ),
        Cause::Timeout => format!(
            "{instance} did not answer in time: run the audit again with a longer --timeout \
             (e.g. --timeout 60s) or a lower --concurrency"
        ),
        Cause::RateLimited => format!(
            "lower --concurrency, or ask {instance}'s admins about the REST rate limits that \
             apply to the audit user; then run the audit again"
        ),
        Cause::NotRead => format!(
            "nothing more was read from {instance} because the run stopped at another instance: \
             fix that first, then run the audit again"
        ),
        Cause::UnknownValue | Cause::Other => format!(
            "run `preclone doctor {instance}` to see why {tables} could not be read there, then \
             run the audit again"
        ),
    }
}

/// Why in a few words: `prod's clone_data_preserver: read denied by an ACL`, or
/// `dev: credentials refused` when the cause is not one table.
pub(crate) fn cause_text(c: &ErrorCause) -> String {
    if c.table.is_empty() {
        format!("{}: {}", c.instance, cause_label(c.kind))
    } else {
        format!("{}'s {}: {}", c.instance, c.table, cause_label(c.kind))
    }
}

/// The results that could not be decided for one cause on one instance.
pub(crate) struct UndecidedGroup<'a> {
    pub kind: Cause,
    /// The instance whose tables (or login) failed.
    pub instance: &'a str,
    /// The tables that could not be read, in the order first met.
    pub tables: Vec<&'a str>,
    /// What the instance answered (the first reason met).
    pub reason: &'a str,
    pub fix: String,
    /// Most severe first.
    pub results: Vec<&'a CheckResult>,
}

impl UndecidedGroup<'_> {
    /// What failed and what the instance answered: `clone_data_preserver: read denied by an ACL
    /// (403 Forbidden: ...)`, or `credentials refused (401 Unauthorized: ...)`.
    pub fn what(&self) -> String {
        if self.kind == Cause::UnknownValue || self.tables.is_empty() {
            format!("{} ({})", cause_label(self.kind), self.reason)
        } else {
            format!(
                "{}: {} ({})",
                and_list(&self.tables),
                cause_label(self.kind),
                self.reason
            )
        }
    }

    /// The instances of its results, in display order.
    pub fn on<'r>(&self, report: &'r Report) -> Vec<&'r str> {
        instance_order(report)
            .into_iter()
            .filter(|i| self.results.iter().any(|r| r.instance == *i))
            .collect()
    }

    /// Its checks, each once, most severe first.
    pub fn checks(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for r in &self.results {
            if !out.contains(&r.check.as_str()) {
                out.push(r.check.as_str());
            }
        }
        out
    }

    /// `25 results on prod, dev and test could not be decided: check, check, ...` (at most
    /// `max_checks` named), with the instances the run stopped before.
    pub fn members_text(&self, report: &Report, max_checks: usize) -> String {
        let n = self.results.len();
        let noun = if n == 1 { "result" } else { "results" };
        let on = and_list(&self.on(report));
        let not_read: Vec<&str> = instance_infos(report)
            .filter(|i| i.read == ReadState::NotRead)
            .map(|i| i.name.as_str())
            .collect();
        let stopped = if !not_read.is_empty()
            && instance_infos(report)
                .any(|i| i.name == self.instance && i.read == ReadState::Failed)
        {
            format!(
                " ({} not read: the run stopped at {})",
                and_list(&not_read),
                self.instance
            )
        } else {
            String::new()
        };
        // A few results are named one by one (with their subject, unless it is only the table),
        // more by their checks.
        let several = self.on(report).len() > 1;
        let items: Vec<String> = if n <= max_checks {
            self.results
                .iter()
                .map(|r| {
                    let place = if several {
                        format!("{} ", r.instance)
                    } else {
                        String::new()
                    };
                    if r.subject.table == TABLE_SUBJECT {
                        format!("{place}{}", r.check)
                    } else {
                        format!("{place}{} · {}", r.check, subject_text(r))
                    }
                })
                .collect()
        } else {
            self.checks().into_iter().map(str::to_string).collect()
        };
        let mut named = items
            .iter()
            .take(max_checks)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if items.len() > max_checks {
            let _ = std::fmt::Write::write_fmt(
                &mut named,
                format_args!(" and {} more", items.len() - max_checks),
            );
        }
        format!("{n} {noun} on {on} not decided{stopped}: {named}")
    }
}

/// Every `error` result, grouped by what stopped it: one group per instance and cause (a value
/// missing in rows that were read is grouped by its fix). Groups with the most severe result
/// come first, then the larger.
pub(crate) fn undecided_groups(report: &Report) -> Vec<UndecidedGroup<'_>> {
    let mut groups: Vec<UndecidedGroup> = Vec::new();
    for r in with_status(report, Status::Error) {
        let (kind, instance, table, reason) = match &r.cause {
            Some(c) => (
                c.kind,
                c.instance.as_str(),
                c.table.as_str(),
                c.reason.as_str(),
            ),
            None => (
                Cause::UnknownValue,
                r.instance.as_str(),
                "",
                r.message.as_str(),
            ),
        };
        let by_fix = kind == Cause::UnknownValue;
        let found = groups.iter_mut().find(|g| {
            g.kind == kind
                && g.instance == instance
                && (!by_fix
                    || g.results
                        .first()
                        .is_some_and(|f| f.remediation == r.remediation))
        });
        let group = match found {
            Some(g) => g,
            None => {
                groups.push(UndecidedGroup {
                    kind,
                    instance,
                    tables: Vec::new(),
                    reason,
                    fix: String::new(),
                    results: Vec::new(),
                });
                groups.last_mut().expect("just pushed")
            }
        };
        if !table.is_empty() && !group.tables.contains(&table) {
            group.tables.push(table);
        }
        group.results.push(r);
    }
    for g in &mut groups {
        g.fix = match g.kind {
            Cause::UnknownValue => g
                .results
                .first()
                .map(|r| r.remediation.clone())
                .unwrap_or_default(),
            kind => fix_text(kind, g.instance, &g.tables),
        };
    }
    // Stable: among equals, the order of the results (instance, check).
    groups.sort_by_key(|g| {
        let worst = g.results.iter().map(|r| r.severity).max();
        (std::cmp::Reverse(worst), std::cmp::Reverse(g.results.len()))
    });
    groups
}

/// What the impact section says first: `none`, `2 will go down`, `not decided for 2 MID
/// Servers`, or both. Never `none` while a `mid-server-will-go-down` is undecided.
pub(crate) fn impact_summary(report: &Report) -> String {
    let mut parts = Vec::new();
    let down = report.impact.len();
    if down > 0 {
        let waived = report
            .impact
            .iter()
            .filter(|i| i.result_status == Status::Waived)
            .count();
        let waived = if waived > 0 {
            format!(" ({waived} waived)")
        } else {
            String::new()
        };
        parts.push(format!("{down} will go down{waived}"));
    }
    let named = report
        .impact_undecided
        .iter()
        .filter(|u| u.mid_server.is_some())
        .count();
    let mut unlisted: Vec<&str> = Vec::new();
    for u in report
        .impact_undecided
        .iter()
        .filter(|u| u.mid_server.is_none())
    {
        if !unlisted.contains(&u.instance.as_str()) {
            unlisted.push(&u.instance);
        }
    }
    let servers = |n: usize| {
        if n == 1 {
            "1 MID Server".to_string()
        } else {
            format!("{n} MID Servers")
        }
    };
    let more = if down > 0 { " more" } else { "" };
    match (named, unlisted.is_empty()) {
        (0, true) => {}
        (n, true) => parts.push(format!("not decided for {}{more}", servers(n))),
        (0, false) => parts.push(format!(
            "not decided for the MID Servers of {}, which could not be listed",
            and_list(&unlisted)
        )),
        (n, false) => parts.push(format!(
            "not decided for {}{more}, and for those of {}, which could not be listed",
            servers(n),
            and_list(&unlisted)
        )),
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join("; ")
    }
}

/// The MID Servers whose fate is open, as the impact sections list them: each one named, and a
/// target whose MID Servers could not be listed once (`mid_server` is `None`).
pub(crate) fn undecided_servers(report: &Report) -> Vec<&UndecidedServer> {
    let mut out: Vec<&UndecidedServer> = Vec::new();
    for u in &report.impact_undecided {
        let again = u.mid_server.is_none()
            && out
                .iter()
                .any(|o| o.instance == u.instance && o.mid_server.is_none());
        if !again {
            out.push(u);
        }
    }
    out
}
