//! `preclone fix`: from an audit's evidence, the records an admin imports on the source to close
//! the gaps a preserver can close (PRODUCT.md section 3), and what each one closes.
//!
//! - `records` decides the records: a MID-related preserver that will not run is repaired (an
//!   update of that record carrying every field, switched on, and links into the profiles the
//!   clones use); a user table or class table whose MID rows no applicable preserver keeps gets
//!   the recommended preserver (the seed article's three, one per child class table: PRODUCT.md
//!   section 4), linked into the profile of every pending request and the default profile.
//!   `mid_level` does the same for the certificate rows of MID Servers using mutual
//!   authentication (`sys_user_certificate`) and the MID Server clusters (`ecc_agent_cluster`).
//! - `predict` applies them to a copy of the evidence and judges it again: the findings that
//!   fail now and pass then are what a record closes (each record by leaving it out), and what
//!   would newly fail is said, never hidden.
//! - [`xml`] writes them as the platform's list export (`<unload>`), every value escaped;
//!   [`markdown`] says what each record does, what it closes and the steps no record can take.
//!
//! Nothing here reads an instance: the binary collects (or reads saved evidence) first.

pub mod markdown;
mod mid_level;
mod predict;
mod records;
pub mod xml;

use crate::checks::CheckId;
use crate::evidence::{Evidence, Preserver};
use crate::finding::{CheckResult, Severity, Subject};
use crate::waivers::Waiver;
use chrono::{DateTime, Utc};

/// A finding as fix names it: what it closes, what stays open, what would newly fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: CheckId,
    pub severity: Severity,
    pub instance: String,
    pub subject: Subject,
    pub message: String,
    pub remediation: String,
}

impl Finding {
    fn of(r: &CheckResult) -> Finding {
        Finding {
            check: r.check,
            severity: r.severity,
            instance: r.instance.to_string(),
            subject: r.subject.clone(),
            message: r.message.clone(),
            remediation: r.remediation.clone(),
        }
    }
}

/// What happens to a `clone_data_preserver` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new preserver, with a fresh sys_id.
    Create,
    /// An update of an existing preserver by its sys_id, carrying every field; the fields
    /// changed, as `field value`.
    Update(Vec<String>),
}

/// A `clone_profile_preservers` record linking a preserver into a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub sys_id: String,
    /// The profile's sys_id.
    pub profile: String,
    /// Its name, where the profile was read (empty otherwise).
    pub profile_name: String,
}

/// One preserver that fix writes or repairs, with its links into profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct PreserverFix {
    /// The record as it will stand after the import.
    pub preserver: Preserver,
    /// What happens to the preserver record itself; `None` when only links are written.
    pub change: Option<Change>,
    pub links: Vec<Link>,
    /// What it keeps through the clone.
    pub keeps: String,
    /// What it costs or what to know (the dot-walk's low finding).
    pub notes: Vec<String>,
    /// The findings that fail today and pass once it is imported.
    pub closes: Vec<Finding>,
}

/// Everything `fix` found: the records, what they close, and what no record can do.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    pub source: String,
    pub targets: Vec<String>,
    pub run_id: String,
    /// When it was generated (UTC, `YYYY-MM-DD HH:MM:SS`): the `unload_date`, and the creation
    /// time of every new record.
    pub stamp: String,
    pub fixes: Vec<PreserverFix>,
    /// Steps an admin must take by hand, one paragraph each: first the locked clone requests
    /// to request again, then the others.
    pub manual: Vec<String>,
    /// How many of the manual steps are locked clone requests.
    pub locked: usize,
    /// Findings that would fail after the import and do not fail today (medium or above).
    pub new_fails: Vec<Finding>,
    /// Findings (medium or above) that fail today and still would after the import, and are not
    /// among the manual steps.
    pub still_open: Vec<Finding>,
    /// Survival and preserver results that could not be decided: fix may not see every gap.
    pub undecided: Vec<Finding>,
}

impl Fix {
    /// Whether there is no record to write.
    pub fn is_empty(&self) -> bool {
        self.fixes.is_empty()
    }

    /// How many records the XML file holds.
    pub fn record_count(&self) -> usize {
        self.fixes
            .iter()
            .map(|f| usize::from(f.change.is_some()) + f.links.len())
            .sum()
    }

    /// Every finding some record closes, once each.
    pub fn closed(&self) -> Vec<&Finding> {
        let mut out: Vec<&Finding> = Vec::new();
        for f in self.fixes.iter().flat_map(|f| &f.closes) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }
}

/// A table `fix` needs could not be read: nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixError {
    #[error(
        "{instance}'s {table} could not be read ({reason}): fix needs the source's preservers, \
         profiles and clone requests to know what to write, so nothing was written. Make it \
         readable to the audit user (run `preclone doctor`), then run fix again"
    )]
    Unreadable {
        instance: String,
        table: String,
        reason: String,
    },
    #[error("the evidence holds no source instance with its clone set-up: nothing was written")]
    NoSource,
}

/// A fresh random sys_id: 32 lowercase hex digits, from the operating system's generator.
pub fn random_sys_id() -> String {
    let mut bytes = [0u8; 16];
    // The OS generator does not fail on the platforms preclone runs on; should it, the clock
    // and a counter still give ids that are unique within the file.
    if getrandom::fill(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
        bytes[..8].copy_from_slice(&t.to_be_bytes());
        bytes[8..].copy_from_slice(&(n ^ u64::from(std::process::id())).to_be_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Plans the fix of `evidence`: judges it (with `waivers`, by the clock `now`), derives the
/// records, and predicts what they close. `new_id` gives each new record its sys_id.
pub fn plan(
    evidence: &Evidence,
    waivers: &[Waiver],
    now: DateTime<Utc>,
    new_id: &mut dyn FnMut() -> String,
) -> Result<Fix, FixError> {
    let stamp = now.format("%Y-%m-%d %H:%M:%S").to_string();
    records::needed_tables(evidence)?;
    let before = predict::judged(evidence, waivers, now);
    let mut manual = Vec::new();
    let mut fixes = records::repairs(evidence, &before, &mut manual, new_id);
    // What still lacks a preserver once the repairs are in.
    let repaired = predict::apply(evidence, &fixes, &stamp);
    let middle = predict::judged(&repaired, waivers, now);
    let added = records::additions(&repaired, &middle, &fixes, &stamp, &mut manual, new_id);
    fixes.extend(added);
    let outcome = predict::outcome(evidence, waivers, now, &before, &mut fixes, &stamp);
    let locked = outcome.locked.len();
    manual.splice(0..0, outcome.locked);
    manual.extend(records::by_hand(&before));
    // A preserver met by both the repairs and the additions is said once.
    let mut seen = std::collections::BTreeSet::new();
    manual.retain(|m| seen.insert(m.clone()));
    Ok(Fix {
        source: evidence.source.clone(),
        targets: evidence.targets.clone(),
        run_id: evidence.run_id.clone(),
        stamp,
        fixes,
        manual,
        locked,
        new_fails: outcome.new_fails,
        still_open: outcome.still_open,
        undecided: outcome.undecided,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_sys_ids_are_32_hex_digits_and_differ() {
        let a = random_sys_id();
        let b = random_sys_id();
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }
}
