//! The source's preservers on the user tables (and the MID Server tables), evaluated by each
//! target: which of its MID-related rows each condition matches, and how many rows of the whole
//! table it matches.
//!
//! Each condition is first asked on its own, for one page of sys_ids with the count of every
//! row it matches (`X-Total-Count`): when the page holds them all (no more than
//! [`first_page_limit`], none hidden), those it matches among the MID-related rows are known
//! from it, since restricting a condition to some rows ANDs a term into it (SERVICENOW.md,
//! "Encoded queries": `^` is AND) and so matches exactly the rows of the page that are among
//! them. A condition matching more rows than a page holds, or some hidden from the audit user,
//! is asked again restricted in every `^NQ` group to the MID-related rows, as many requests as
//! 8 KB URLs need. A well-aimed preserver therefore costs one request per target, its count
//! included; an over-broad one a page of ids more.

use super::reader::{FirstPage, Got, Reader};
use super::rows::Keyed;
use super::rows::{ContainsRow, UserRoleRow};
use super::trace::Step;
use super::waves::{sys_ids, Groups, Wave2};
use super::{fact, Read};
use crate::evidence::{Fact, Preserver, PreserverEval, Role, Unreadable, User};
use crate::query::{self, MAX_QUERY_BYTES};
use crate::tables::{self, *};
use futures::future::join_all;
use std::collections::{BTreeMap, BTreeSet};

/// The matches of each preserver among some rows, by position (`None` where not evaluated).
pub(super) type Matches = Vec<Option<Read<String>>>;

/// The MID-related rows of one table on a target: the field and values that restrict a
/// condition to them (`userIN<MID user ids>`), and the rows' own sys_ids.
struct Related {
    field: &'static str,
    values: BTreeSet<String>,
    rows: BTreeSet<String>,
}

impl Related {
    fn new(field: &'static str, values: BTreeSet<String>, rows: BTreeSet<String>) -> Self {
        Related {
            field,
            values,
            rows,
        }
    }
}

/// The rows of a first page ([`first_page_limit`]) for `mid_related` MID-related rows: four
/// per row, at least 1,000 and at most 10,000 (the platform's page).
pub(super) fn first_page_limit(mid_related: usize) -> u64 {
    (4 * mid_related as u64).clamp(1_000, 10_000)
}

/// A condition asked on its own: every row it matches when they fit one page, and how many it
/// matches in all.
#[derive(Debug, Clone)]
pub(super) struct Whole {
    matches: Page,
    /// How many rows of the whole table it matches.
    total: Result<u64, Unreadable>,
}

/// What the first page showed of a condition's matches.
#[derive(Debug, Clone)]
enum Page {
    /// Every row it matches.
    All(Vec<String>),
    /// More than a page, or some hidden from the audit user: ask again restricted to the
    /// MID-related rows.
    More,
    /// It could not be read (or the condition is too long for a URL): neither could the
    /// restricted reads, which are not sent.
    Failed(Unreadable),
}

/// The first page of each preserver on a user table, by position (`None` for preservers on
/// other tables). Needs no MID-related row: it goes out as soon as the preservers are in.
pub(super) type Wholes = Vec<Option<Whole>>;

/// [`whole`] of each preserver on a user table.
pub(super) async fn wholes(
    inst: &Reader,
    preservers: &[Preserver],
    limit: u64,
    after: Step,
) -> Wholes {
    join_all(preservers.iter().map(|p| async move {
        let t = tables::user_table(&p.table)?;
        Some(whole(inst, t, p, limit, after).await)
    }))
    .await
}

/// The condition of `p` on its table `t` on its own, one page of `limit` sys_ids; a condition
/// too long for a URL is not sent.
async fn whole(inst: &Reader, t: &Table, p: &Preserver, limit: u64, after: Step) -> Whole {
    let q = match query::fitting(&p.condition, MAX_QUERY_BYTES) {
        Ok(q) => q,
        Err(e) => {
            let e = too_long(p, &e);
            return Whole {
                matches: Page::Failed(e.clone()),
                total: Err(e),
            };
        }
    };
    let Got(page, _) = inst.first_ids(t, q, limit, after).await;
    match page {
        Ok(page) => Whole {
            total: Ok(page.total),
            matches: FirstPage::all(page).map_or(Page::More, Page::All),
        },
        Err(e) => Whole {
            matches: Page::Failed(e.clone()),
            total: Err(e),
        },
    }
}

/// The rows of `p` matched among `rows`: from its first page when that holds every match, else
/// asked restricted to the rows whose `field` is in `values`.
async fn matched_among(
    inst: &Reader,
    t: &Table,
    p: &Preserver,
    whole: &Whole,
    (field, values): (&str, &BTreeSet<String>),
    after: Step,
) -> Read<String> {
    match &whole.matches {
        Page::All(all) => Ok(all.clone()),
        Page::Failed(e) => Err(e.clone()),
        Page::More => matched_rows(inst, t, p, field, values, after).await,
    }
}

/// Why the condition of `p` could not be evaluated: it names the preserver.
fn too_long(p: &Preserver, e: &query::TooLong) -> Unreadable {
    Unreadable {
        table: p.table.clone(),
        reason: format!(
            "the condition of preserver \"{}\" ({}) is {e}",
            p.name, p.sys_id
        ),
    }
}

/// The sys_ids of the rows of `p`'s table `t` its condition matches among those whose `field`
/// is in `values`: the condition restricted in every `^NQ` group to one `IN` chunk per request,
/// the chunk's bytes counted once per group so that no URL passes 8 KB. No request when
/// `values` is empty; none either when even one value per group does not fit (unreadable,
/// naming the preserver).
async fn matched_rows(
    inst: &Reader,
    t: &Table,
    p: &Preserver,
    field: &str,
    values: &BTreeSet<String>,
    after: Step,
) -> Read<String> {
    matched_any(inst, t, p, &[(field, values)], &[], after).await
}

/// [`matched_rows`] among the rows matching any of `terms` (`<field>IN<values>`, ORed, see
/// [`query::restricted_any`]) or any of `singles` (`<field>=<value>` each, for values that
/// cannot stand in a list).
async fn matched_any(
    inst: &Reader,
    t: &Table,
    p: &Preserver,
    terms: &[(&str, &BTreeSet<String>)],
    singles: &[String],
    after: Step,
) -> Read<String> {
    let mut queries =
        query::restricted_any(&p.condition, terms, MAX_QUERY_BYTES).map_err(|e| too_long(p, &e))?;
    for single in singles {
        let q = query::restrict(&p.condition, single);
        query::fitting(&q, MAX_QUERY_BYTES).map_err(|e| too_long(p, &e))?;
        queries.push(q);
    }
    let results = join_all(queries.into_iter().map(|q| inst.ids(t, q, after))).await;
    results
        .into_iter()
        .try_fold(Vec::new(), |mut acc, Got(r, _)| {
            acc.extend(r?);
            Ok(acc)
        })
}

/// Sorted, without duplicates.
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// Evaluates the preservers on the tables of `level` on this target among their MID-related
/// rows, from their first pages ([`wholes`]) or, where a page did not hold every match, asked
/// restricted to those rows.
async fn evaluate(
    inst: &Reader,
    preservers: &[Preserver],
    wholes: &Wholes,
    level: &[&'static Table],
    related: &BTreeMap<&str, Related>,
    after: Step,
) -> Vec<PreserverEval> {
    let jobs = preservers
        .iter()
        .zip(wholes)
        .filter_map(|(p, whole)| {
            let t = tables::named(level, &p.table)?;
            Some((p, t, related.get(t.name)?, whole.as_ref()?))
        })
        .map(|(p, t, rel, whole)| async move {
            let matched = matched_among(inst, t, p, whole, (rel.field, &rel.values), after).await;
            let matched = matched
                .map(|ids| sorted(ids.into_iter().filter(|id| rel.rows.contains(id)).collect()));
            PreserverEval {
                preserver: p.sys_id.clone(),
                table: p.table.clone(),
                matched: fact(matched),
                table_matches: fact(whole.total.clone()),
                mid_related_rows: rel.rows.len() as u64,
            }
        });
    join_all(jobs).await
}

/// The user-level preservers' matches among the MID users as the first wave names them, by
/// position (`None` where not evaluated), with the logins each was restricted to by name
/// (`None`: every match is known, from the first page).
pub(super) type UserMatches = Vec<Option<(Read<String>, Option<BTreeSet<String>>)>>;

/// The id and login fields of a user-level table (`sys_id`/`user_name` on sys_user, `user`/
/// `user.user_name` on the other two).
fn user_fields(t: &Table) -> (&'static str, &'static str) {
    if t.name == SYS_USER.name {
        ("sys_id", "user_name")
    } else {
        ("user", "user.user_name")
    }
}

/// The user-level preservers' matches among the MID users: every match, from the first page
/// that held them all; else asked restricted to the MID users as the first wave names them: the
/// holders of `mid_server` by sys_id (`sys_idIN` on sys_user, `userIN` on the other two) and the
/// other logins of MID Servers by name (`user_nameIN`, `user.user_nameIN`; a login holding a
/// comma on its own with `=`). A login whose term does not fit a preserver's URLs is left to
/// [`match_others`], by sys_id.
pub(super) async fn match_users(
    inst: &Reader,
    preservers: &[Preserver],
    wholes: &Wholes,
    holders: &BTreeSet<String>,
    logins: &BTreeSet<String>,
    after: Step,
) -> UserMatches {
    join_all(preservers.iter().zip(wholes).map(|(p, whole)| async move {
        let t = tables::named(USER_LEVEL, &p.table)?;
        match whole.as_ref().map(|w| &w.matches) {
            Some(Page::All(all)) => return Some((Ok(all.clone()), None)),
            Some(Page::Failed(e)) => return Some((Err(e.clone()), None)),
            _ => {}
        }
        let (id, name) = user_fields(t);
        let room = query::room_per_group(&p.condition, MAX_QUERY_BYTES);
        let fits =
            |n: &String, term: String| query::safe_equals(n) && query::encoded_len(&term) <= room;
        let listed: BTreeSet<String> = logins
            .iter()
            .filter(|n| query::safe_in_list(n) && fits(n, format!("{name}IN{n}")))
            .cloned()
            .collect();
        let single: Vec<&String> = logins
            .iter()
            .filter(|n| !query::safe_in_list(n) && fits(n, format!("{name}={n}")))
            .collect();
        let singles: Vec<String> = single.iter().map(|n| format!("{name}={n}")).collect();
        let terms = [(id, holders), (name, &listed)];
        let matched = matched_any(inst, t, p, &terms, &singles, after).await;
        let mut named = listed;
        named.extend(single.into_iter().cloned());
        Some((matched, Some(named)))
    }))
    .await
}

/// The user-level preservers' matches among the MID users [`match_users`] did not ask about:
/// those read that are neither holders nor named by a login it restricted to, by sys_id. No
/// request where there are none (the usual case) or every match is known.
pub(super) async fn match_others(
    inst: &Reader,
    preservers: &[Preserver],
    early: UserMatches,
    holders: &BTreeSet<String>,
    w2: &Wave2,
    after: Step,
) -> Matches {
    let users: &[User] = w2.users.as_deref().unwrap_or_default();
    join_all(preservers.iter().zip(early).map(|(p, early)| async move {
        let (matched, named) = early?;
        let Some(named) = named else {
            return Some(matched);
        };
        let t = tables::named(USER_LEVEL, &p.table)?;
        let others: BTreeSet<String> = users
            .iter()
            .filter(|u| query::is_sys_id(&u.sys_id) && !holders.contains(&u.sys_id))
            .filter(|u| !named.contains(&u.user_name))
            .map(|u| u.sys_id.clone())
            .collect();
        let late = matched_rows(inst, t, p, user_fields(t).0, &others, after).await;
        Some(matched.and_then(|mut ids| {
            ids.extend(late?);
            Ok(ids)
        }))
    }))
    .await
}

/// Each MID-related row of a table keyed by user, with the user it belongs to.
fn owners<T: Keyed>(rows: &Read<T>, user: impl Fn(&T) -> &str) -> BTreeMap<String, String> {
    rows.as_ref()
        .map(|rows| {
            rows.iter()
                .map(|r| (r.sys_id().to_string(), user(r).to_string()))
                .filter(|(id, _)| query::is_sys_id(id))
                .collect()
        })
        .unwrap_or_default()
}

/// The evaluations of the user-level preservers on a target, from their matches among the MID
/// users as the first wave named them ([`match_users`], asked beside the users' reads): only
/// the rows of the users the second wave read count, as if each condition had been restricted
/// to them.
pub(super) fn user_level_evals(
    preservers: &[Preserver],
    wholes: &Wholes,
    matches: Matches,
    w2: &Wave2,
) -> Vec<PreserverEval> {
    let user_ids = sys_ids(&w2.users, |u| &u.sys_id);
    let role_rows = owners(&w2.user_roles, |r| &r.user);
    let member_rows = owners(&w2.memberships, |r| &r.user);
    preservers
        .iter()
        .zip(wholes)
        .zip(matches)
        .filter_map(|((p, whole), matched)| {
            let matched = matched?;
            let total = whole.as_ref().map(|w| w.total.clone());
            // The rows of the MID users, and the user each belongs to (none on sys_user).
            let owner = if p.table == SYS_USER.name {
                None
            } else if p.table == SYS_USER_HAS_ROLE.name {
                Some(&role_rows)
            } else {
                Some(&member_rows)
            };
            let mid_related_rows = owner.map_or(user_ids.len(), BTreeMap::len) as u64;
            let keep = |id: &String| match owner {
                None => user_ids.contains(id),
                Some(rows) => rows.get(id).is_some_and(|u| user_ids.contains(u)),
            };
            let matched =
                matched.map(|ids| sorted(ids.into_iter().filter(|id| keep(id)).collect()));
            Some(PreserverEval {
                preserver: p.sys_id.clone(),
                table: p.table.clone(),
                matched: fact(matched),
                table_matches: fact(total.unwrap_or_else(|| {
                    Err(Unreadable {
                        table: p.table.clone(),
                        reason: "the whole table's matches were not counted".to_string(),
                    })
                })),
                mid_related_rows,
            })
        })
        .collect()
}

/// What a target's preservers on the group and role tables are restricted to.
pub(super) struct GroupLevel<'a> {
    pub(super) mid_role: &'a Fact<Vec<Role>>,
    pub(super) user_roles: &'a Read<UserRoleRow>,
    pub(super) groups: &'a Groups,
    /// The roles containing `mid_server`.
    pub(super) contains: &'a Read<ContainsRow>,
}

/// The preservers on the group and role tables, on a target, restricted to the groups read,
/// their role rows, and every role a row refers to (with the role containers).
pub(super) async fn group_level_evals(
    inst: &Reader,
    preservers: &[Preserver],
    wholes: &Wholes,
    g: &GroupLevel<'_>,
    after: Step,
) -> Vec<PreserverEval> {
    let gids: BTreeSet<String> = g
        .groups
        .groups
        .as_ref()
        .map(|g| g.iter().map(|g| g.sys_id.clone()).collect())
        .unwrap_or_default();
    let group_roles = &g.groups.group_roles;
    let mut role_ids = sys_ids(g.user_roles, |r| &r.role);
    role_ids.extend(sys_ids(group_roles, |r| &r.role));
    role_ids.extend(sys_ids(g.contains, |r| &r.role));
    role_ids.extend(sys_ids(g.contains, |r| &r.contains));
    if let Some(r) = g.mid_role.get() {
        role_ids.extend(r.iter().map(|r| r.sys_id.clone()));
    }
    let related = BTreeMap::from([
        (
            SYS_USER_GROUP.name,
            Related::new("sys_id", gids.clone(), gids.clone()),
        ),
        (
            SYS_GROUP_HAS_ROLE.name,
            Related::new("group", gids, sys_ids(group_roles, |r| &r.sys_id)),
        ),
        (
            SYS_USER_ROLE.name,
            Related::new("sys_id", role_ids.clone(), role_ids.clone()),
        ),
        (
            SYS_USER_ROLE_CONTAINS.name,
            Related::new("role", role_ids, sys_ids(g.contains, |r| &r.sys_id)),
        ),
    ]);
    evaluate(inst, preservers, wholes, GROUP_LEVEL, &related, after).await
}

/// Wave 3 on a target: the preservers on the class table of MID users whose class is a child
/// of sys_user (`u_mid_service_account`), which keep those users where a `sys_user` preserver
/// does not: each restricted to the users of that class (`sys_idIN`), with its whole-table
/// count. A class whose name is not a plain table name is not asked about (the simulation then
/// finds the preserver not evaluated: undecided, never kept).
pub(super) async fn class_level_evals(
    inst: &Reader,
    preservers: &[Preserver],
    users: &Read<User>,
    after: Step,
) -> Vec<PreserverEval> {
    let Ok(users) = users else {
        return Vec::new();
    };
    let mut by_class: BTreeMap<String, (Table, BTreeSet<String>)> = BTreeMap::new();
    for u in users.iter().filter(|u| query::is_sys_id(&u.sys_id)) {
        if let Some(t) = tables::class_table(u.sys_class_name.trim()) {
            by_class
                .entry(t.name.to_string())
                .or_insert_with(|| (t, BTreeSet::new()))
                .1
                .insert(u.sys_id.clone());
        }
    }
    let jobs = preservers
        .iter()
        .filter_map(|p| by_class.get(&p.table).map(|(t, ids)| (p, t, ids)))
        .map(|(p, t, ids)| by_sys_id(inst, t, p, ids, after));
    join_all(jobs).await
}

/// The evaluation of `p` on `t` for the rows `ids`: its first page, or where that did not hold
/// every match, asked restricted to them (`sys_idIN`, chunked); with the whole table's matches
/// (a condition too long for a URL is not sent).
pub(super) async fn by_sys_id(
    inst: &Reader,
    t: &Table,
    p: &Preserver,
    ids: &BTreeSet<String>,
    after: Step,
) -> PreserverEval {
    let whole = whole(inst, t, p, first_page_limit(ids.len()), after).await;
    let matched = matched_among(inst, t, p, &whole, ("sys_id", ids), after).await;
    let matched = matched.map(|m| sorted(m.into_iter().filter(|id| ids.contains(id)).collect()));
    PreserverEval {
        preserver: p.sys_id.clone(),
        table: p.table.clone(),
        matched: fact(matched),
        table_matches: fact(whole.total),
        mid_related_rows: ids.len() as u64,
    }
}
