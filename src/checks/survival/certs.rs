//! Certificate logins: a MID Server with `is_using_mutual_auth` logs in with a client
//! certificate that a `sys_user_certificate` row maps to its user. That table is replaced by
//! the source's like any user table (PRODUCT.md 2.1): a row survives when an applicable
//! preserver on that exact table keeps it (a `sys_certificate` preserver does not reach its
//! child), or when the table is copied and the source has the row with the same sys_id.
//! `mid-certificate-not-preserved` judges each row under one clone and tells
//! `mid-server-will-go-down` the fate of each MID Server's certificates;
//! `mid-certificate-expiring` judges them as they stand.

use super::{preserver_names, preservers_of, server_subject};
use crate::checks::facts::mid_server_logins;
use crate::checks::{table_subject, CheckId, Ev, Judge};
use crate::evidence::{InstanceEvidence, MidServer, Unreadable, UserCertificate};
use crate::finding::{CheckResult, Subject};
use crate::simulate::{login_key, ClonePlan, World};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

const TABLE: &str = "sys_user_certificate";
/// Days before expiry that `mid-certificate-expiring` warns.
const EXPIRING_DAYS: i64 = 30;

/// What the clone does to a MID Server's certificate login.
#[derive(Debug, Clone)]
pub(super) enum CertFate {
    /// A certificate row of its user survives (and no other may be the one it presents).
    Kept,
    /// No active certificate row of its user survives: why, for the impact line.
    Lost(String),
    Undecided(Unreadable),
}

/// The MID Servers that log in, or may log in, with a certificate (`is_using_mutual_auth`
/// true or unknown), each with the certificate rows of its logins: by the user's login the row
/// walks to, or by the sys_id of a user of that login (the walk may not come back: the login
/// is then filled in).
fn certificate_logins<'e>(
    target: &'e InstanceEvidence,
    servers: &'e [MidServer],
    certs: &'e [UserCertificate],
) -> Vec<(&'e MidServer, Vec<UserCertificate>)> {
    let users = target.users.get().map(Vec::as_slice).unwrap_or_default();
    servers
        .iter()
        .filter(|m| m.is_using_mutual_auth != Some(false))
        .map(|m| {
            let logins: BTreeSet<String> = mid_server_logins(target, m)
                .iter()
                .map(|l| login_key(l))
                .collect();
            let ids: BTreeSet<&str> = users
                .iter()
                .filter(|u| logins.contains(&login_key(&u.user_name)))
                .map(|u| u.sys_id.as_str())
                .collect();
            let mine = certs
                .iter()
                .filter(|c| {
                    logins.contains(&login_key(&c.user_name)) || ids.contains(c.user.as_str())
                })
                .map(|c| UserCertificate {
                    user_name: login_of(target, c),
                    ..c.clone()
                })
                .collect();
            (m, mine)
        })
        .collect()
}

/// The login of the user `sys_id` of `inst`, from the row's own walk or the users read.
fn login_of(inst: &InstanceEvidence, row: &UserCertificate) -> String {
    if !row.user_name.is_empty() {
        return row.user_name.clone();
    }
    (inst.users.get().into_iter().flatten())
        .find(|u| u.sys_id == row.user)
        .map(|u| u.user_name.clone())
        .unwrap_or_default()
}

fn subject(c: &UserCertificate) -> Subject {
    Subject::new(TABLE, &c.sys_id, &c.name)
}

/// `, and no preserver on T applies` or `, and none of the applicable preservers on T ("a"
/// (condition), ...) keeps it`: the end of why a row of `table` is not kept.
pub(super) fn none_keeps(source: &InstanceEvidence, plan: &ClonePlan, table: &str) -> String {
    if plan.applicable_on(preservers_of(source), table).is_empty() {
        format!(", and no preserver on {table} applies")
    } else {
        format!(
            ", and none of the applicable preservers on {table} ({}) keeps it",
            preserver_names(source, plan, table)
        )
    }
}

/// The name of the applicable preserver on `table` that keeps the target's row `row`, as the
/// target evaluated its condition; `None` when none does. Undecided when one was not evaluated
/// or its evaluation failed.
pub(super) fn kept_by(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    plan: &ClonePlan,
    table: &str,
    row: &str,
) -> Result<Option<String>, Unreadable> {
    for p in plan.applicable_on(preservers_of(source), table) {
        let eval = target
            .preserver_evals
            .iter()
            .find(|e| e.preserver == p.sys_id && e.table == table)
            .ok_or_else(|| Unreadable {
                table: table.into(),
                reason: format!(
                    "preserver \"{}\" was not evaluated on {}",
                    p.name, target.name
                ),
            })?;
        if eval.matched.as_result()?.iter().any(|id| id == row) {
            return Ok(Some(p.name.clone()));
        }
    }
    Ok(None)
}

/// `; preserver "x" does not apply: why` for each preserver on `table` this clone leaves out.
pub(super) fn not_applied(source: &InstanceEvidence, plan: &ClonePlan, table: &str) -> String {
    preservers_of(source)
        .iter()
        .filter(|p| p.table == table)
        .filter_map(|p| {
            let why = plan.not_applied.get(&p.sys_id)?;
            Some(format!("; preserver \"{}\" does not apply: {why}", p.name))
        })
        .collect()
}

/// Whether one certificate row survives one clone: `Ok(None)` when it does, `Ok(Some(why))`
/// when it does not.
fn survives(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    plan: &ClonePlan,
    after: &World,
    c: &UserCertificate,
) -> Result<Option<String>, Unreadable> {
    let preservers = preservers_of(source);
    let kept_by = kept_by(source, target, plan, TABLE, &c.sys_id)?;
    let excluded = plan.mid_excluded.get(TABLE);
    // The row after the clone: the target's, kept; else the source's copy of the same sys_id.
    let row = match (&kept_by, excluded) {
        (Some(_), _) => Some((c.clone(), target)),
        (None, Some(_)) => None,
        (None, None) => source
            .certificates
            .as_result()?
            .iter()
            .find(|s| s.sys_id == c.sys_id)
            .map(|s| (s.clone(), source)),
    };
    let Some(row) = row else {
        let mut why = match excluded {
            Some(e) => format!("clone_data_exclude entry {e} empties {TABLE}"),
            None => format!(
                "the clone replaces {TABLE} with {}'s rows, which lack this one",
                source.name
            ),
        };
        why.push_str(&none_keeps(source, plan, TABLE));
        let others: Vec<String> = plan
            .applicable_on(preservers, "sys_certificate")
            .iter()
            .map(|p| format!("\"{}\"", p.name))
            .collect();
        if !others.is_empty() {
            why.push_str(&format!(
                "; the preserver {} on sys_certificate does not reach its child table {TABLE}",
                others.join(", ")
            ));
        }
        why.push_str(&not_applied(source, plan, TABLE));
        return Ok(Some(why));
    };
    // The row must still map to a user that exists: by sys_id, not by name.
    let (row, from) = row;
    let login = login_of(from, &row);
    let user_exists = after
        .users_named(&login)
        .iter()
        .any(|(u, _)| u.sys_id == row.user);
    Ok((!user_exists).then(|| {
        format!(
            "its row survives, but maps to the user {login} with sys_id {}, which will not exist after the clone",
            row.user
        )
    }))
}

/// mid-certificate-not-preserved under one clone, and the fate of each certificate login by
/// MID Server sys_id (MID Servers without mutual authentication are absent).
pub(super) fn not_preserved(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    plan: &ClonePlan,
    after: &World,
    servers: &[MidServer],
    out: &mut Vec<CheckResult>,
) -> BTreeMap<String, CertFate> {
    let j = Judge::new(CheckId::MidCertificateNotPreserved, &target.name);
    let mut fates = BTreeMap::new();
    if servers
        .iter()
        .all(|m| m.is_using_mutual_auth == Some(false))
    {
        return fates;
    }
    let certs = match target.certificates.as_result() {
        Ok(c) => c,
        Err(e) => {
            out.push(j.error(table_subject(TABLE), &e));
            for m in servers
                .iter()
                .filter(|m| m.is_using_mutual_auth == Some(true))
            {
                fates.insert(m.sys_id.clone(), CertFate::Undecided(e.clone()));
            }
            return fates;
        }
    };
    let mut judged: BTreeMap<String, Result<Option<String>, Unreadable>> = BTreeMap::new();
    for (m, mine) in certificate_logins(target, servers, certs) {
        let mut lost = Vec::new();
        let mut kept = 0;
        let mut undecided = None;
        for c in mine.iter().filter(|c| c.active != Some(false)) {
            let fate = judged
                .entry(c.sys_id.clone())
                .or_insert_with(|| {
                    let r = survives(source, target, plan, after, c);
                    out.push(match &r {
                        Ok(None) => j.pass(
                            subject(c),
                            format!("certificate \"{}\" of {} survives the clone", c.name, c.user_name),
                            Ev::new().with("user_name", &c.user_name),
                        ),
                        Ok(Some(why)) => j.fail(
                            subject(c),
                            format!("certificate \"{}\" of {} will not map to its user after the clone: {why}", c.name, c.user_name),
                            format!("on {}, add a clone data preserver on {TABLE} with the condition user.roles=mid_server (or one that matches \"{}\") and list it in the clone profile (a dot-walk, like the seed article's preservers: the legacy clone engine cannot apply it, see preserver-dot-walked); or import the certificate of the MID Servers of {} again after the clone", source.name, c.name, c.user_name),
                            Ev::new().with("user_name", &c.user_name).with("because", why),
                        ),
                        Err(e) => j.error(subject(c), e),
                    });
                    r
                })
                .clone();
            match fate {
                Ok(None) => kept += 1,
                Ok(Some(why)) => lost.push(format!("\"{}\": {why}", c.name)),
                Err(e) => undecided = Some(e),
            }
        }
        let fate = match (kept, lost.len(), undecided) {
            (0, 0, None) if m.is_using_mutual_auth == Some(true) => {
                let e = Unreadable {
                    table: TABLE.into(),
                    reason: format!(
                        "{} uses mutual authentication, and no active {TABLE} row maps a certificate to its user",
                        m.name
                    ),
                };
                out.push(j.undecided(
                    server_subject(m),
                    format!("could not be decided: {}", e.reason),
                    format!("check on the instance which certificate {} presents and which user it maps to", m.name),
                ));
                CertFate::Undecided(e)
            }
            (0, 0, None) => continue,
            (_, 0, None) => CertFate::Kept,
            (0, _, None) if m.is_using_mutual_auth == Some(true) => CertFate::Lost(lost.join("; ")),
            (0, _, None) => CertFate::Undecided(Unreadable {
                table: "ecc_agent".into(),
                reason: format!("is_using_mutual_auth of {} was not returned, and its user's certificate rows will not survive the clone", m.name),
            }),
            (_, _, Some(e)) => CertFate::Undecided(e),
            (k, n, None) => CertFate::Undecided(Unreadable {
                table: TABLE.into(),
                reason: format!(
                    "{k} of the {} certificate rows of its user survive the clone, and which one {} presents is not read (no fingerprint is)",
                    k + n,
                    m.name
                ),
            }),
        };
        fates.insert(m.sys_id.clone(), fate);
    }
    fates
}

/// A certificate's expiry, as the instance stores it: a date-time or a date (UTC).
fn expiry(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(|d| d.and_utc())
}

/// mid-certificate-expiring: the certificate rows of the target's certificate logins as they
/// stand, against the evidence's collection time `now`.
pub(super) fn expiring(target: &InstanceEvidence, now: DateTime<Utc>, out: &mut Vec<CheckResult>) {
    let j = Judge::new(CheckId::MidCertificateExpiring, &target.name);
    let servers = match target.mid_servers.as_result() {
        Ok(s) => s,
        Err(e) => return out.push(j.error(table_subject("ecc_agent"), &e)),
    };
    if servers
        .iter()
        .all(|m| m.is_using_mutual_auth == Some(false))
    {
        return;
    }
    let certs = match target.certificates.as_result() {
        Ok(c) => c,
        Err(e) => return out.push(j.error(table_subject(TABLE), &e)),
    };
    let mut seen = BTreeSet::new();
    let cutoff = now + Duration::days(EXPIRING_DAYS);
    for (m, mine) in certificate_logins(target, servers, certs) {
        for c in mine.iter().filter(|c| seen.insert(c.sys_id.clone())) {
            let ev = Ev::new()
                .with("user_name", &c.user_name)
                .with("expires", &c.expires)
                .with("mid_server", &m.name);
            let fix = format!(
                "renew the certificate \"{}\" on the MID Servers of {} and in {TABLE} before the clone",
                c.name, c.user_name
            );
            let when = expiry(&c.expires);
            let problem = match (c.active, when) {
                (Some(false), _) => Some(format!(
                    "certificate \"{}\" of {} is inactive",
                    c.name, c.user_name
                )),
                (_, Some(t)) if t <= now => Some(format!(
                    "certificate \"{}\" of {} expired on {}",
                    c.name, c.user_name, c.expires
                )),
                (_, Some(t)) if t <= cutoff => Some(format!(
                    "certificate \"{}\" of {} expires on {}, within {EXPIRING_DAYS} days",
                    c.name, c.user_name, c.expires
                )),
                _ => None,
            };
            let unknown = match (c.active, when) {
                (None, _) => Some(format!(
                    "active of certificate \"{}\" ({}) was not returned",
                    c.name, c.sys_id
                )),
                (_, None) => Some(format!(
                    "the expiry {:?} of certificate \"{}\" ({}) is not a date",
                    c.expires, c.name, c.sys_id
                )),
                _ => None,
            };
            match (problem, unknown) {
                (Some(p), _) => out.push(j.fail(subject(c), p, fix, ev)),
                (None, Some(u)) => out.push(j.undecided(
                    subject(c),
                    format!("could not be decided: {u}"),
                    format!("make {TABLE}.active and {TABLE}.expires readable to the audit user (run `preclone doctor`), then run the audit again"),
                )),
                (None, None) => out.push(j.pass(
                    subject(c),
                    format!("certificate \"{}\" of {} is active until {}", c.name, c.user_name, c.expires),
                    ev,
                )),
            }
        }
    }
}
