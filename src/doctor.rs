//! `preclone doctor`: can we log in to each instance and read every table the audit needs?
//!
//! For every instance, one small read of every table (the rows the audit itself asks for first,
//! where there is such a query), concurrently. Each cell of the matrix (instance × table) is
//! `readable`, `forbidden` (403, or an ACL-shaped 404), `hidden rows` (the instance counted more
//! rows than it sent: ACL trimming or domain separation), `missing` (the table does not exist on
//! this release) or `error` (timed out, rate limited, a server error, a malformed answer). Each
//! gap comes with what to grant. An instance that cannot be reached or logged in to has no cells.

use crate::client::{Client, Probe};
use crate::config::{ClientSettings, ResolvedInstance};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use futures::future::join_all;
use std::fmt;

/// One table the audit reads: on which instances, and the read that probes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub table: &'static str,
    /// `every instance`, or `source` for the clone setup tables.
    pub needed_on: &'static str,
    /// The encoded query of the probe: the rows the audit reads first, or empty for a sample.
    pub query: &'static str,
}

const fn need(table: &'static str, needed_on: &'static str, query: &'static str) -> Need {
    Need {
        table,
        needed_on,
        query,
    }
}

/// Every table the audit reads. The first is read alone first: it tells whether the instance
/// can be read at all.
pub const NEEDS: &[Need] = &[
    need("sys_user_role", "every instance", "name=mid_server"),
    need(
        "sys_user_has_role",
        "every instance",
        "role.name=mid_server",
    ),
    need("sys_user", "every instance", "roles=mid_server"),
    need(
        "sys_user_grmember",
        "every instance",
        "user.roles=mid_server",
    ),
    need("sys_user_group", "every instance", ""),
    need("sys_group_has_role", "every instance", ""),
    need(
        "sys_user_role_contains",
        "every instance",
        "contains.name=mid_server",
    ),
    need("ecc_agent", "every instance", ""),
    need(
        "ecc_agent_config",
        "every instance",
        "param_name=mid.instance.username",
    ),
    need(
        "sys_properties",
        "every instance",
        "nameINglide.installation.production,glide.buildtag",
    ),
    need("clone_data_preserver", "source", ""),
    need("clone_profile", "source", ""),
    need("clone_profile_preservers", "source", ""),
    need("clone_data_exclude", "source", ""),
    need("clone_instance", "source", ""),
];

/// Rows asked for by each probe: enough to see rows trimmed by ACLs, few enough to be cheap.
pub const PROBE_ROWS: u64 = 20;

/// Exit code when every table is readable on every instance.
pub const EXIT_OK: u8 = 0;
/// Exit code when some table is forbidden, missing, hides rows or could not be read.
pub const EXIT_UNREADABLE: u8 = 2;
/// Exit code when an instance could not be reached or refused the credentials.
pub const EXIT_ACCESS: u8 = 4;

/// The exit codes, for `preclone doctor --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  every table the audit needs is readable on every instance checked
  2  something is unreadable: a table is forbidden, missing, hides rows from the audit user, or
     could not be read (timeout, rate limit, server error)
  3  usage or configuration error
  4  an instance could not be reached or logged in to (refused credentials, failed OAuth token
     request, TLS failure, redirect, an HTML page instead of the API)

Every table is checked on every instance named, since any of them may be a clone source.";

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Readable,
    Forbidden,
    HiddenRows,
    Missing,
    Error,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Readable => "readable",
            Access::Forbidden => "forbidden",
            Access::HiddenRows => "hidden rows",
            Access::Missing => "missing",
            Access::Error => "error",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub table: String,
    pub access: Access,
    /// What was seen: a row count, or the error in one line.
    pub detail: String,
}

impl Cell {
    /// What to grant or do about a gap; `None` when the table is readable.
    pub fn remedy(&self) -> Option<String> {
        let t = &self.table;
        match self.access {
            Access::Readable => None,
            Access::Forbidden => Some(format!(
                "grant the audit user read access to {t}: a role listed in the read ACLs of {t} \
                 (System Security > Access Control, name {t} and {t}.*, operation read), e.g. a \
                 dedicated read-only audit role ({})",
                self.detail
            )),
            Access::HiddenRows => Some(format!(
                "the audit user reads {t}, but {}: give it a role that passes every read ACL of \
                 {t} (row-level ACLs and their conditions), and put it in the global domain where \
                 domain separation is on",
                self.detail
            )),
            Access::Missing => Some(format!(
                "{t} does not exist on this instance ({}): nothing to grant; the checks that need \
                 it will report error, so the audit exits 2 unless --allow-incomplete",
                self.detail
            )),
            Access::Error => Some(format!(
                "{t} could not be read ({}): retry later, raise --timeout, or check the \
                 instance's health and rate limits",
                self.detail
            )),
        }
    }
}

/// One instance's row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorRow {
    pub instance: String,
    /// Set when the instance could not be reached or refused the credentials.
    pub access_error: Option<String>,
    /// One per [`NEEDS`] entry, in order; empty when `access_error` is set.
    pub cells: Vec<Cell>,
}

fn cell(need: &Need, probe: Result<Probe, crate::client::ClientError>) -> Cell {
    let table = need.table.to_string();
    match probe {
        Ok(p) if p.hidden() > 0 => Cell {
            table,
            access: Access::HiddenRows,
            detail: format!(
                "{} of the first {} counted rows were not sent",
                p.hidden(),
                p.announced.unwrap_or(0).min(p.limit)
            ),
        },
        Ok(p) => Cell {
            table,
            access: Access::Readable,
            detail: match p.announced {
                Some(n) => format!("{n} rows"),
                None => format!("{} rows (no count)", p.rows),
            },
        },
        Err(e) => Cell {
            table,
            access: if e.is_invalid_table() {
                Access::Missing
            } else if matches!(e.status(), Some(403) | Some(404)) {
                Access::Forbidden
            } else {
                Access::Error
            },
            detail: e.short(),
        },
    }
}

async fn check(inst: &ResolvedInstance, settings: &ClientSettings) -> DoctorRow {
    let unreachable = |reason: String| DoctorRow {
        instance: inst.name.clone(),
        access_error: Some(reason),
        cells: vec![],
    };
    let client = match Client::new(inst, settings) {
        Ok(c) => c,
        Err(e) => return unreachable(e.to_string()),
    };
    // The first read tells whether we can reach and log in at all.
    let first = &NEEDS[0];
    let first_probe = client.probe(first.table, first.query, PROBE_ROWS).await;
    if let Err(e) = &first_probe {
        if e.is_fatal_on_first_request() {
            return unreachable(e.to_string());
        }
    }
    let rest = join_all(
        NEEDS[1..]
            .iter()
            .map(|n| client.probe(n.table, n.query, PROBE_ROWS)),
    )
    .await;
    let cells = std::iter::once(first_probe)
        .chain(rest)
        .zip(NEEDS)
        .map(|(probe, need)| cell(need, probe))
        .collect();
    DoctorRow {
        instance: inst.name.clone(),
        access_error: None,
        cells,
    }
}

/// Checks every instance concurrently.
pub async fn run(instances: &[ResolvedInstance], settings: &ClientSettings) -> Vec<DoctorRow> {
    join_all(instances.iter().map(|i| check(i, settings))).await
}

/// Whether every instance could be read and every table is readable on it.
pub fn all_ok(rows: &[DoctorRow]) -> bool {
    rows.iter()
        .all(|r| r.access_error.is_none() && r.cells.iter().all(|c| c.access == Access::Readable))
}

/// [`EXIT_ACCESS`] when an instance could not be reached or logged in to, else
/// [`EXIT_UNREADABLE`] when any table is not readable, else [`EXIT_OK`].
pub fn exit_code(rows: &[DoctorRow]) -> u8 {
    if rows.iter().any(|r| r.access_error.is_some()) {
        EXIT_ACCESS
    } else if all_ok(rows) {
        EXIT_OK
    } else {
        EXIT_UNREADABLE
    }
}

/// One short paragraph naming why the exit code is not 0 (for stderr); `None` when it is 0.
pub fn summary(rows: &[DoctorRow]) -> Option<String> {
    let unreachable: Vec<&str> = rows
        .iter()
        .filter(|r| r.access_error.is_some())
        .map(|r| r.instance.as_str())
        .collect();
    let gaps = rows
        .iter()
        .flat_map(|r| &r.cells)
        .filter(|c| c.access != Access::Readable)
        .count();
    match exit_code(rows) {
        EXIT_OK => None,
        EXIT_ACCESS => Some(format!(
            "could not reach or log in to {} (exit {EXIT_ACCESS}): see \"To fix\" above; no \
             audit can read {}",
            unreachable.join(", "),
            if unreachable.len() == 1 { "it" } else { "them" }
        )),
        code => Some(format!(
            "{gaps} gap(s) in the matrix above (exit {code}): an audit would end incomplete; \
             grant what \"To fix\" names, then run `preclone doctor` again"
        )),
    }
}

/// The matrix (table × instance) and what to grant for each gap.
pub fn render(rows: &[DoctorRow]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    let mut header = vec!["table".to_string(), "needed on".to_string()];
    header.extend(rows.iter().map(|r| r.instance.clone()));
    table.set_header(header);
    for (i, need) in NEEDS.iter().enumerate() {
        let mut line = vec![need.table.to_string(), need.needed_on.to_string()];
        for r in rows {
            line.push(match (&r.access_error, r.cells.get(i)) {
                (Some(_), _) => "—".into(),
                (None, Some(c)) => c.access.to_string(),
                (None, None) => "?".into(),
            });
        }
        table.add_row(line);
    }
    let mut out = format!("{table}\n");
    let mut gaps = Vec::new();
    for r in rows {
        if let Some(e) = &r.access_error {
            gaps.push(format!("{}: cannot reach or log in: {e}", r.instance));
        }
        for c in &r.cells {
            if let Some(what) = c.remedy() {
                gaps.push(format!("{} {} ({}): {what}", r.instance, c.table, c.access));
            }
        }
    }
    if gaps.is_empty() {
        out.push_str("Everything the audit needs is readable.\n");
    } else {
        out.push_str("To fix:\n");
        for g in gaps {
            out.push_str(&format!("  - {g}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, access: &[Access]) -> DoctorRow {
        DoctorRow {
            instance: name.into(),
            access_error: None,
            cells: NEEDS
                .iter()
                .zip(access.iter().chain(std::iter::repeat(&Access::Readable)))
                .map(|(n, a)| Cell {
                    table: n.table.into(),
                    access: *a,
                    detail: "d".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn exit_codes_follow_the_worst_gap() {
        assert_eq!(exit_code(&[row("a", &[])]), EXIT_OK);
        assert!(summary(&[row("a", &[])]).is_none());
        let gap = row("a", &[Access::Readable, Access::HiddenRows]);
        assert_eq!(exit_code(std::slice::from_ref(&gap)), EXIT_UNREADABLE);
        let mut down = row("b", &[]);
        down.access_error = Some("refused".into());
        down.cells.clear();
        assert_eq!(exit_code(&[gap, down.clone()]), EXIT_ACCESS);
        assert!(summary(&[down]).is_some_and(|s| s.contains("b") && s.contains("exit 4")));
    }

    #[test]
    fn every_gap_has_a_remedy_naming_the_table() {
        for a in [
            Access::Forbidden,
            Access::HiddenRows,
            Access::Missing,
            Access::Error,
        ] {
            let c = Cell {
                table: "ecc_agent".into(),
                access: a,
                detail: "x".into(),
            };
            assert!(c.remedy().is_some_and(|r| r.contains("ecc_agent")), "{a}");
        }
        let ok = Cell {
            table: "ecc_agent".into(),
            access: Access::Readable,
            detail: "1 rows".into(),
        };
        assert!(ok.remedy().is_none());
    }

    #[test]
    fn a_short_page_is_hidden_rows() {
        let p = Probe {
            rows: 0,
            announced: Some(3),
            limit: PROBE_ROWS,
        };
        assert_eq!(cell(&NEEDS[7], Ok(p)).access, Access::HiddenRows);
        let p = Probe {
            rows: 20,
            announced: Some(500),
            limit: PROBE_ROWS,
        };
        assert_eq!(cell(&NEEDS[7], Ok(p)).access, Access::Readable);
    }
}
