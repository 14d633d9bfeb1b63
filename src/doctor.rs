//! `preclone doctor`: can we log in to each instance and read every table the audit needs?
//!
//! For every instance, one small read of every table (the rows the audit itself asks for first,
//! where there is such a query), concurrently. Each cell of the matrix (instance × table) is
//! `readable`, `forbidden` (403, or an ACL-shaped 404), `hidden rows` (the instance counted more
//! rows than it sent: ACL trimming or domain separation), `missing` (the table does not exist on
//! this release), `absent` (the same, for a table a release may lack: not a gap) or `error`
//! (timed out, rate limited, a server error, a malformed answer). Each gap comes with what to
//! grant. An instance that cannot be reached or logged in to has no cells.
//!
//! The tables and their probes are [`tables::ALL`], the very list the audit reads from.

use crate::client::{Client, ClientError, Probe};
use crate::config::{ClientSettings, ResolvedInstance};
use crate::exit::Exit;
use crate::tables::{self, Table};
use comfy_table::presets::UTF8_BORDERS_ONLY;
use futures::future::join_all;
use std::fmt;

/// Every table the audit reads, each probed with [`Table::probe`]. The first is read alone
/// first: it tells whether the instance can be read at all.
pub const NEEDS: &[&Table] = tables::ALL;

/// Rows asked for by each probe: enough to see rows trimmed by ACLs, few enough to be cheap.
pub const PROBE_ROWS: u64 = 20;

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
    /// Missing, on a table a release may lack ([`Table::may_be_absent`]): not a gap.
    Absent,
    Error,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Readable => "readable",
            Access::Forbidden => "forbidden",
            Access::HiddenRows => "hidden rows",
            Access::Missing => "missing",
            Access::Absent => "absent",
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
    /// The audit is complete without the table ([`Table::optional`]): a gap here fails nothing.
    pub optional: bool,
}

impl Cell {
    /// Whether the audit would miss something here: neither readable nor absent.
    pub fn is_gap(&self) -> bool {
        !matches!(self.access, Access::Readable | Access::Absent)
    }

    /// Whether the gap makes doctor exit non-zero: any gap on a table the audit needs.
    pub fn fails(&self) -> bool {
        self.is_gap() && !self.optional
    }

    /// What to grant or do about a gap; `None` when there is nothing to do.
    pub fn remedy(&self) -> Option<String> {
        let what = self.gap_remedy()?;
        Some(if self.optional {
            format!("{what} (optional: the audit is complete without it)")
        } else {
            what
        })
    }

    fn gap_remedy(&self) -> Option<String> {
        let t = &self.table;
        match self.access {
            Access::Readable | Access::Absent => None,
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

fn cell(need: &Table, probe: Result<Probe, ClientError>) -> Cell {
    let (access, detail) = match probe {
        Ok(p) if p.hidden() > 0 => (
            Access::HiddenRows,
            format!(
                "{} of the first {} counted rows were not sent",
                p.hidden(),
                p.announced.unwrap_or(0).min(p.limit)
            ),
        ),
        Ok(p) => (
            Access::Readable,
            match p.announced {
                Some(n) => format!("{n} rows"),
                None => format!("{} rows (no count)", p.rows),
            },
        ),
        Err(e) => (
            if e.is_invalid_table() && need.may_be_absent {
                Access::Absent
            } else if e.is_invalid_table() {
                Access::Missing
            } else if matches!(e.status(), Some(403) | Some(404)) {
                Access::Forbidden
            } else {
                Access::Error
            },
            e.short(),
        ),
    };
    Cell {
        table: need.name.to_string(),
        access,
        detail,
        optional: need.optional,
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
    let first = NEEDS[0];
    let first_probe = client.probe(first.name, first.probe, PROBE_ROWS).await;
    if let Err(e) = &first_probe {
        if e.is_fatal_on_first_request() {
            return unreachable(e.to_string());
        }
    }
    let rest = join_all(
        NEEDS[1..]
            .iter()
            .map(|n| client.probe(n.name, n.probe, PROBE_ROWS)),
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

/// Whether every instance could be read and every table it needs is readable (or absent) on it.
pub fn all_ok(rows: &[DoctorRow]) -> bool {
    rows.iter()
        .all(|r| r.access_error.is_none() && !r.cells.iter().any(Cell::fails))
}

/// [`Exit::Access`] (4) when an instance could not be reached or logged in to, else
/// [`Exit::Incomplete`] (2) when a table the audit needs is not readable, else [`Exit::Pass`].
pub fn exit_code(rows: &[DoctorRow]) -> Exit {
    if rows.iter().any(|r| r.access_error.is_some()) {
        Exit::Access
    } else if all_ok(rows) {
        Exit::Pass
    } else {
        Exit::Incomplete
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
        .filter(|c| c.fails())
        .count();
    match exit_code(rows) {
        Exit::Pass => None,
        code @ Exit::Access => Some(format!(
            "could not reach or log in to {} (exit {code}): see \"To fix\" above; no \
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
    let mut table = comfy_table::Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    let mut header = vec!["table".to_string(), "needed on".to_string()];
    header.extend(rows.iter().map(|r| r.instance.clone()));
    table.set_header(header);
    for (i, need) in NEEDS.iter().enumerate() {
        let mut line = vec![need.name.to_string(), need.scope.needed_on().to_string()];
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

/// The matrix as JSON: the exit code, then per instance its access error (or `null`) and, per
/// table, what the probe found, whether it is a gap that fails doctor, and what to grant.
pub fn render_json(rows: &[DoctorRow]) -> String {
    let instances: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let tables: Vec<serde_json::Value> = NEEDS
                .iter()
                .zip(&r.cells)
                .map(|(need, c)| {
                    serde_json::json!({
                        "table": c.table,
                        "needed_on": need.scope.needed_on(),
                        "access": c.access.as_str(),
                        "detail": c.detail,
                        "optional": c.optional,
                        "gap": c.is_gap(),
                        "fails": c.fails(),
                        "fix": c.remedy(),
                    })
                })
                .collect();
            serde_json::json!({
                "instance": r.instance,
                "access_error": r.access_error,
                "tables": tables,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "exit_code": exit_code(rows).code(),
        "all_readable": all_ok(rows),
        "instances": instances,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
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
                    table: n.name.into(),
                    access: *a,
                    detail: "d".into(),
                    optional: n.optional,
                })
                .collect(),
        }
    }

    #[test]
    fn exit_codes_follow_the_worst_gap() {
        assert_eq!(exit_code(&[row("a", &[])]), Exit::Pass);
        assert!(summary(&[row("a", &[])]).is_none());
        let gap = row("a", &[Access::Readable, Access::HiddenRows]);
        assert_eq!(exit_code(std::slice::from_ref(&gap)), Exit::Incomplete);
        let mut down = row("b", &[]);
        down.access_error = Some("refused".into());
        down.cells.clear();
        assert_eq!(exit_code(&[gap, down.clone()]), Exit::Access);
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
                optional: false,
            };
            assert!(c.remedy().is_some_and(|r| r.contains("ecc_agent")), "{a}");
        }
        let ok = Cell {
            table: "ecc_agent".into(),
            access: Access::Readable,
            detail: "1 rows".into(),
            optional: false,
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
        assert_eq!(cell(NEEDS[7], Ok(p)).access, Access::HiddenRows);
        let p = Probe {
            rows: 20,
            announced: Some(500),
            limit: PROBE_ROWS,
        };
        assert_eq!(cell(NEEDS[7], Ok(p)).access, Access::Readable);
    }

    fn invalid_table(table: &str) -> ClientError {
        ClientError::BadRequest {
            instance: "dev".into(),
            table: Some(table.into()),
            message: crate::client::ServerMessage {
                message: format!("Invalid table {table}"),
                detail: None,
            },
        }
    }

    fn forbidden(table: &str) -> ClientError {
        ClientError::Forbidden {
            instance: "dev".into(),
            table: Some(table.into()),
            message: crate::client::ServerMessage {
                message: "Insufficient rights to query records".into(),
                detail: None,
            },
        }
    }

    /// A table that some releases lack, and one the audit is complete without.
    const ABSENT_ON_SOME: Table = Table {
        may_be_absent: true,
        ..tables::CLONE_INSTANCE
    };
    const OPTIONAL: Table = Table {
        optional: true,
        ..tables::ECC_AGENT
    };

    fn with(cell: Cell) -> DoctorRow {
        let mut r = row("dev", &[]);
        r.cells.push(cell);
        r
    }

    #[test]
    fn an_absent_table_that_may_be_absent_is_shown_absent_and_does_not_fail() {
        let c = cell(&ABSENT_ON_SOME, Err(invalid_table("clone_instance")));
        assert_eq!(c.access, Access::Absent);
        assert!(!c.is_gap() && !c.fails() && c.remedy().is_none());
        let rows = [with(c)];
        assert_eq!(exit_code(&rows), Exit::Pass);
        assert!(summary(&rows).is_none());
        assert!(render(&rows).contains("Everything the audit needs is readable."));
        // A table every release has is missing, and that fails.
        let c = cell(
            &tables::CLONE_INSTANCE,
            Err(invalid_table("clone_instance")),
        );
        assert_eq!(c.access, Access::Missing);
        assert_eq!(exit_code(&[with(c)]), Exit::Incomplete);
        // Forbidden is forbidden, whether or not the table may be absent.
        let c = cell(&ABSENT_ON_SOME, Err(forbidden("clone_instance")));
        assert_eq!(c.access, Access::Forbidden);
        assert_eq!(exit_code(&[with(c)]), Exit::Incomplete);
    }

    #[test]
    fn a_gap_on_an_optional_table_is_named_but_does_not_fail() {
        let c = cell(&OPTIONAL, Err(forbidden("ecc_agent")));
        assert_eq!(c.access, Access::Forbidden);
        assert!(c.is_gap() && !c.fails());
        assert!(c.remedy().is_some_and(|r| r.contains("optional")));
        let rows = [with(c)];
        assert_eq!(exit_code(&rows), Exit::Pass);
        assert!(render(&rows).contains("ecc_agent (forbidden)"));
    }
}
