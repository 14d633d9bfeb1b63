//! `preclone doctor`: can we log in to each instance and read every table the audit needs?

use crate::client::Client;
use crate::config::{ClientSettings, ResolvedInstance};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use futures::future::join_all;

/// Every table the audit reads, and who needs it.
pub const TABLES: &[(&str, &str)] = &[
    ("sys_user_role", "every instance"),
    ("sys_user_has_role", "every instance"),
    ("sys_user", "every instance"),
    ("sys_user_grmember", "every instance"),
    ("sys_user_group", "every instance"),
    ("sys_group_has_role", "every instance"),
    ("sys_user_role_contains", "every instance"),
    ("ecc_agent", "every instance"),
    ("ecc_agent_config", "every instance"),
    ("sys_properties", "every instance"),
    ("clone_data_preserver", "source"),
    ("clone_profile", "source"),
    ("clone_profile_preservers", "source"),
    ("clone_data_exclude", "source"),
    ("clone_instance", "source"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub table: String,
    /// `readable`, `forbidden`, `missing` or `error`.
    pub status: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorRow {
    pub instance: String,
    /// Set when the instance could not be reached or refused the credentials.
    pub access_error: Option<String>,
    pub cells: Vec<Cell>,
}

async fn check(inst: &ResolvedInstance, settings: &ClientSettings) -> DoctorRow {
    let client = match Client::new(inst, settings) {
        Ok(c) => c,
        Err(e) => {
            return DoctorRow {
                instance: inst.name.clone(),
                access_error: Some(e.to_string()),
                cells: vec![],
            }
        }
    };
    // The first read tells whether we can log in at all.
    let first = client.count(TABLES[0].0, "").await;
    if let Err(e) = &first {
        if e.is_access_failure() {
            return DoctorRow {
                instance: inst.name.clone(),
                access_error: Some(e.to_string()),
                cells: vec![],
            };
        }
    }
    let rest = join_all(TABLES[1..].iter().map(|(t, _)| client.count(t, ""))).await;
    let cells = std::iter::once(first)
        .chain(rest)
        .zip(TABLES)
        .map(|(r, (t, _))| match r {
            Ok(n) => Cell {
                table: t.to_string(),
                status: "readable".into(),
                detail: format!("{n} rows"),
            },
            Err(e) => Cell {
                table: t.to_string(),
                status: if e.is_invalid_table() {
                    "missing"
                } else if matches!(e.status(), Some(403) | Some(404)) {
                    "forbidden"
                } else {
                    "error"
                }
                .into(),
                detail: e.short(),
            },
        })
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

pub fn all_ok(rows: &[DoctorRow]) -> bool {
    rows.iter()
        .all(|r| r.access_error.is_none() && r.cells.iter().all(|c| c.status == "readable"))
}

/// The matrix (instance × table) and what to grant for each gap.
pub fn render(rows: &[DoctorRow]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    let mut header = vec!["table".to_string(), "needed on".to_string()];
    header.extend(rows.iter().map(|r| r.instance.clone()));
    table.set_header(header);
    for (i, (t, who)) in TABLES.iter().enumerate() {
        let mut line = vec![t.to_string(), who.to_string()];
        for r in rows {
            line.push(match (&r.access_error, r.cells.get(i)) {
                (Some(_), _) => "—".into(),
                (None, Some(c)) => c.status.clone(),
                (None, None) => "?".into(),
            });
        }
        table.add_row(line);
    }
    let mut out = format!("{table}\n");
    let mut gaps = Vec::new();
    for r in rows {
        if let Some(e) = &r.access_error {
            gaps.push(format!("{}: cannot log in or reach it: {e}", r.instance));
        }
        for c in r.cells.iter().filter(|c| c.status != "readable") {
            let what = match c.status.as_str() {
                "missing" => "the table does not exist on this release: checks that need it report error".to_string(),
                "forbidden" => format!(
                    "grant the audit user read access to {} (a role with a read ACL on it; admin reads everything)",
                    c.table
                ),
                _ => format!("read failed ({})", c.detail),
            };
            gaps.push(format!("{} {}: {}", r.instance, c.table, what));
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
