//! When a row was created and last changed, as the platform stamps every row
//! (`sys_created_on`, `sys_updated_on`): the source's user-table rows a clone copies come from a
//! backup up to 36 hours old, so a recent row may not be in it.

use super::{Fact, InstanceEvidence};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// `sys_created_on` and `sys_updated_on` of one row, as read (`YYYY-MM-DD HH:MM:SS`, UTC); empty
/// when not returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowTimes {
    pub created_on: String,
    pub updated_on: String,
}

impl RowTimes {
    /// When the row last changed (its creation counts as a change): the later of the two
    /// times. `None` when `sys_updated_on` is not a time, even if `sys_created_on` is: the
    /// row may have changed since it was created.
    pub fn changed_at(&self) -> Option<DateTime<Utc>> {
        let updated = parse_time(&self.updated_on)?;
        Some(match parse_time(&self.created_on) {
            Some(created) => updated.max(created),
            None => updated,
        })
    }

    /// Whether the row was created (not only changed) at or after `since`.
    pub fn created_since(&self, since: DateTime<Utc>) -> bool {
        parse_time(&self.created_on).is_some_and(|t| t >= since)
    }
}

fn ids<T>(f: &Fact<Vec<T>>, id: fn(&T) -> &str) -> impl Iterator<Item = &str> {
    f.get().into_iter().flatten().map(id)
}

/// The sys_ids of the user-table rows of an instance's evidence: those a clone of it copies
/// (users, role rows, memberships, groups, group roles, role containment).
pub fn user_table_row_ids(i: &InstanceEvidence) -> impl Iterator<Item = &str> {
    ids(&i.users, |r| &r.sys_id)
        .chain(ids(&i.user_roles, |r| &r.sys_id))
        .chain(ids(&i.memberships, |r| &r.sys_id))
        .chain(ids(&i.groups, |r| &r.sys_id))
        .chain(ids(&i.group_roles, |r| &r.sys_id))
        .chain(ids(&i.role_contains, |r| &r.sys_id))
        .chain(ids(&i.held_role_contains, |r| &r.sys_id))
}

/// A Table API date-time, `YYYY-MM-DD HH:MM:SS` in UTC; `None` for anything else.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(created: &str, updated: &str) -> RowTimes {
        RowTimes {
            created_on: created.into(),
            updated_on: updated.into(),
        }
    }

    #[test]
    fn a_row_changed_when_it_was_last_updated_and_unknown_without_that() {
        let t = |s: &str| parse_time(s).expect("a time");
        let r = times("2026-11-01 08:00:00", "2026-11-20 09:30:00");
        assert_eq!(r.changed_at(), Some(t("2026-11-20 09:30:00")));
        assert!(r.created_since(t("2026-11-01 08:00:00")));
        assert!(!r.created_since(t("2026-11-01 08:00:01")));
        // A creation stamped after the update (clock skew) still counts.
        let r = times("2026-11-21 00:00:00", "2026-11-20 00:00:00");
        assert_eq!(r.changed_at(), Some(t("2026-11-21 00:00:00")));
        for unknown in [times("2026-11-01 08:00:00", ""), times("", "yesterday")] {
            assert_eq!(unknown.changed_at(), None, "{unknown:?}");
        }
        assert_eq!(
            times("", " 2026-11-20 09:30:00 ").changed_at(),
            Some(t("2026-11-20 09:30:00"))
        );
    }
}
