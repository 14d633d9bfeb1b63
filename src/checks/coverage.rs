//! Could we see everything? Every table read, per instance: unreadable, or rows hidden by ACLs.

use super::{CheckId, Ev, Judge};
use crate::evidence::Evidence;
use crate::finding::{CheckResult, Subject};

pub(super) fn judge(evidence: &Evidence, out: &mut Vec<CheckResult>) {
    for inst in evidence.instances.values() {
        let ju = Judge::new(CheckId::TableUnreadable, &inst.name);
        let jh = Judge::new(CheckId::RowsHiddenByAcl, &inst.name);
        for read in &inst.coverage {
            let subject = Subject::new("sys_db_object", "", &read.table);
            let ev = Ev::new()
                .with("requests", read.requests.to_string())
                .with("rows", read.rows.to_string());
            match &read.error {
                None if read.absent => out.push(ju.pass(
                    subject.clone(),
                    format!(
                        "{} does not exist on {}'s release: nothing to read",
                        read.table, inst.name
                    ),
                    ev.with("absent", "true"),
                )),
                Some(why) => out.push(ju.undecided(
                    subject.clone(),
                    format!("{} on {} could not be read: {why}", read.table, inst.name),
                    format!(
                        "grant the audit user read access to {} on {} (run `preclone doctor` for the matrix)",
                        read.table, inst.name
                    ),
                )),
                None => out.push(ju.pass(subject.clone(), format!("{} was read", read.table), ev)),
            }
            if read.hidden_rows > 0 {
                out.push(jh.undecided(
                    subject,
                    format!(
                        "{} on {}: {} counted but not sent (hidden by ACLs or domain separation)",
                        read.table,
                        inst.name,
                        rows(read.hidden_rows)
                    ),
                    format!(
                        "give the audit user a role that passes the read ACLs of {} (and the global domain where domain separation is on)",
                        read.table
                    ),
                ));
            } else if read.error.is_none() {
                out.push(jh.pass(
                    subject,
                    format!("every counted row of {} arrived", read.table),
                    Ev::new(),
                ));
            }
        }
    }
}

/// `1 row`, `3 rows`.
fn rows(n: u64) -> String {
    if n == 1 {
        "1 row".to_string()
    } else {
        format!("{n} rows")
    }
}
