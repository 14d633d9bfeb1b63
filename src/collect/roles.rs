//! Role containment, read whole once per instance (one paged read of `sys_user_role_contains`
//! right after the login check) and followed here, without a request per level: up from
//! `mid_server` (the roles that grant it by containing it) and down from the roles the MID users
//! and their groups hold (what `mid-user-elevated-roles` looks through).

use super::rows::ContainsRow;
use super::Read;
use crate::evidence::Unreadable;
use crate::query;
use crate::tables::SYS_USER_ROLE_CONTAINS;
use std::collections::{BTreeMap, BTreeSet};

/// How many levels of roles contained in the MID users' roles are followed down.
pub(super) const HELD_DEPTH: usize = 10;

/// The rows of the roles containing `mid_server`, transitively: the rows that contain it by name
/// (`contains.name`), then every row containing a role found so far, to a fixpoint.
pub(super) fn containing_mid_server(all: &Read<ContainsRow>) -> Read<ContainsRow> {
    let rows = all.as_ref().map_err(Clone::clone)?;
    let mut by_contained: BTreeMap<&str, Vec<&ContainsRow>> = BTreeMap::new();
    for r in rows {
        by_contained.entry(r.contains.as_str()).or_default().push(r);
    }
    let mut out: Vec<ContainsRow> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut frontier: Vec<&ContainsRow> = rows
        .iter()
        .filter(|r| r.contains_name == "mid_server")
        .collect();
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    while let Some(r) = frontier.pop() {
        if !seen.insert(r.sys_id.as_str()) {
            continue;
        }
        out.push(r.clone());
        if query::is_sys_id(&r.role) && reached.insert(r.role.as_str()) {
            frontier.extend(by_contained.get(r.role.as_str()).into_iter().flatten());
        }
    }
    Ok(out)
}

/// Roles followed down no further: one the check already sees as elevated.
fn stops_descent(r: &ContainsRow) -> bool {
    r.contains_elevated == Some(true)
        || ["admin", "security_admin"].contains(&r.contains_name.as_str())
}

/// The containment of `roles`, followed down level by level, each role once. A contained role
/// that is elevated is not followed further: what it contains adds nothing to
/// `mid-user-elevated-roles`. Unreadable when the table is, or when the roles nest deeper than
/// [`HELD_DEPTH`] levels.
pub(super) fn held(all: &Read<ContainsRow>, roles: &BTreeSet<String>) -> Read<ContainsRow> {
    let rows = all.as_ref().map_err(Clone::clone)?;
    let mut by_role: BTreeMap<&str, Vec<&ContainsRow>> = BTreeMap::new();
    for r in rows {
        by_role.entry(r.role.as_str()).or_default().push(r);
    }
    let mut asked: BTreeSet<&str> = BTreeSet::new();
    let mut frontier: BTreeSet<&str> = roles
        .iter()
        .map(String::as_str)
        .filter(|r| query::is_sys_id(r))
        .collect();
    let mut out: Vec<ContainsRow> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for _ in 0..HELD_DEPTH {
        if frontier.is_empty() {
            return Ok(out);
        }
        asked.extend(frontier.iter().copied());
        let mut next = BTreeSet::new();
        for role in &frontier {
            for r in by_role.get(role).into_iter().flatten() {
                if seen.insert(r.sys_id.as_str()) {
                    out.push((*r).clone());
                }
                let c = r.contains.as_str();
                if !stops_descent(r) && query::is_sys_id(c) && !asked.contains(c) {
                    next.insert(c);
                }
            }
        }
        frontier = next;
    }
    if frontier.is_empty() {
        Ok(out)
    } else {
        Err(Unreadable {
            table: SYS_USER_ROLE_CONTAINS.name.into(),
            reason: format!("roles contain roles more than {HELD_DEPTH} levels deep"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Row;
    use crate::collect::rows::parse;

    fn id(n: u32) -> String {
        format!("{n:032x}")
    }

    /// Row `n`: role `role` contains role `contains` (named `name`, elevated or not).
    fn row(n: u32, role: u32, contains: u32, name: &str, elevated: bool) -> ContainsRow {
        let fields = [
            ("sys_id", format!("{:032x}", 1000 + n)),
            ("role", id(role)),
            ("contains", id(contains)),
            ("contains.name", name.to_string()),
            ("contains.elevated_privilege", elevated.to_string()),
        ];
        let row: Row = fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        parse(row).expect("parses")
    }

    fn ids(rows: &Read<ContainsRow>) -> BTreeSet<String> {
        rows.as_ref()
            .expect("readable")
            .iter()
            .map(|r| r.sys_id.clone())
            .collect()
    }

    #[test]
    fn the_roles_containing_mid_server_are_followed_up_to_the_top() {
        // 2 contains mid_server (1); 3 contains 2; 4 contains 3; 5 contains 4 and 9 (unrelated).
        let all = Ok(vec![
            row(1, 2, 1, "mid_server", false),
            row(2, 3, 2, "mid_ops", false),
            row(3, 4, 3, "mid_ops_admin", false),
            row(4, 5, 4, "mid_ops_lead", false),
            row(5, 5, 9, "itil", false),
            row(6, 9, 8, "other", false),
        ]);
        let up = containing_mid_server(&all);
        assert_eq!(
            ids(&up),
            [1, 2, 3, 4].map(|n| format!("{:032x}", 1000 + n)).into()
        );
        // A cycle ends.
        let all = Ok(vec![
            row(1, 2, 1, "mid_server", false),
            row(2, 3, 2, "a", false),
            row(3, 2, 3, "b", false),
        ]);
        assert_eq!(ids(&containing_mid_server(&all)).len(), 3);
    }

    #[test]
    fn held_roles_are_followed_down_not_below_an_elevated_one() {
        let all = Ok(vec![
            row(1, 10, 11, "bundle", false),
            row(2, 11, 12, "admin", true),
            row(3, 12, 13, "below_admin", false),
            row(4, 20, 21, "unrelated", false),
        ]);
        let down = held(&all, &[id(10)].into());
        assert_eq!(
            ids(&down),
            [1, 2].map(|n| format!("{:032x}", 1000 + n)).into()
        );
        // Deeper than the limit: unreadable, never a partial answer that looks whole.
        let chain: Vec<ContainsRow> = (0..=HELD_DEPTH as u32)
            .map(|i| row(i, 100 + i, 101 + i, "r", false))
            .collect();
        let deep = held(&Ok(chain), &[id(100)].into());
        assert!(deep.is_err_and(|e| e.reason.contains("levels deep")));
        let unreadable: Read<ContainsRow> = Err(Unreadable {
            table: "sys_user_role_contains".into(),
            reason: "403".into(),
        });
        assert!(held(&unreadable, &[id(10)].into()).is_err());
        assert!(containing_mid_server(&unreadable).is_err());
    }
}
