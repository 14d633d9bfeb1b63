//! The record of which read waited for which: every read of a run notes the earlier read whose
//! answer it needed last (its inputs' deepest one), so the run's critical path can be told in
//! round trips, across instances (a source read that waits for a target's answer continues that
//! target's chain).
//!
//! A read's depth is the depth of what it waited for plus the requests it sent one after another
//! (its pages, and any retry); reads of one chunked list go out side by side and each counts on
//! its own. The first request to an instance, the login check, is 1.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Where an answer stands on the chain of reads that led to it: the round trips from the start
/// of the run, and the read whose answer ended that chain (`None` before any).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    pub trips: u32,
    pub read: Option<u64>,
}

impl Step {
    /// Before anything was read.
    pub const START: Step = Step {
        trips: 0,
        read: None,
    };

    /// The later of two: what a read needing both answers waits for.
    pub fn and(self, other: Step) -> Step {
        if other.trips > self.trips {
            other
        } else {
            self
        }
    }

    /// The latest of several.
    pub fn all(steps: impl IntoIterator<Item = Step>) -> Step {
        steps.into_iter().fold(Step::START, Step::and)
    }
}

/// One read of a run: which instance and table, how many requests it sent, the read it waited
/// for, and the round trips from the start of the run to its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    pub id: u64,
    pub instance: String,
    pub table: String,
    pub requests: u64,
    /// The read whose answer it waited for last (`None`: the login check).
    pub after: Option<u64>,
    /// Round trips from the start of the run to its answer.
    pub trips: u32,
}

/// Every read of one run, as they end.
#[derive(Debug, Default)]
pub struct Trace {
    next: AtomicU64,
    reads: Mutex<Vec<ReadRecord>>,
}

impl Trace {
    /// A number for a read about to start (from 1).
    pub(super) fn begin(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A read that ended, with its requests, after waiting for `after`: where its answer stands.
    pub(super) fn end(
        &self,
        id: u64,
        instance: &str,
        table: &str,
        requests: u64,
        after: Step,
    ) -> Step {
        let trips = after.trips + requests.max(1) as u32;
        let record = ReadRecord {
            id,
            instance: instance.to_string(),
            table: table.to_string(),
            requests,
            after: after.read,
            trips,
        };
        self.reads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
        Step {
            trips,
            read: Some(id),
        }
    }

    /// Every read recorded, in the order they ended.
    pub fn reads(&self) -> Vec<ReadRecord> {
        self.reads.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The longest chain of reads each waiting for the one before, first read first (empty when
    /// nothing was read). Its last read's `trips` is the run's depth in round trips.
    pub fn deepest(&self) -> Vec<ReadRecord> {
        let reads = self.reads();
        let Some(last) = reads
            .iter()
            .max_by_key(|r| (r.trips, std::cmp::Reverse(r.id)))
        else {
            return Vec::new();
        };
        let mut chain = vec![last.clone()];
        let mut at = last.after;
        while let Some(id) = at {
            let Some(r) = reads.iter().find(|r| r.id == id) else {
                break;
            };
            chain.push(r.clone());
            at = r.after;
        }
        chain.reverse();
        chain
    }

    /// The run's depth: round trips on its longest chain (0 before any read).
    pub fn depth(&self) -> u32 {
        self.deepest().last().map_or(0, |r| r.trips)
    }
}

/// One line per read of a chain: `instance table (requests) -> ...`.
pub fn describe(chain: &[ReadRecord]) -> String {
    chain
        .iter()
        .map(|r| {
            format!(
                "{} {} ({} request{}, trip {})",
                r.instance,
                r.table,
                r.requests,
                if r.requests == 1 { "" } else { "s" },
                r.trips
            )
        })
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_chain_follows_what_each_read_waited_for() {
        let t = Trace::default();
        let login = t.begin();
        let s1 = t.end(login, "dev", "sys_user_role", 1, Step::START);
        assert_eq!(s1.trips, 1);
        let (a, b) = (t.begin(), t.begin());
        let sa = t.end(a, "dev", "sys_user_has_role", 1, s1);
        // Two pages, one after the other.
        let sb = t.end(b, "prod", "clone_data_preserver", 2, s1);
        assert_eq!(sa.and(sb), sb);
        assert_eq!(Step::all([sa, sb, s1]), sb);
        let c = t.begin();
        let sc = t.end(c, "dev", "sys_user", 1, sa.and(sb));
        assert_eq!(sc.trips, 4);
        let chain = t.deepest();
        let ids: Vec<u64> = chain.iter().map(|r| r.id).collect();
        assert_eq!(ids, [login, b, c]);
        assert_eq!(t.depth(), 4);
        assert!(describe(&chain).contains("prod clone_data_preserver (2 requests, trip 3)"));
        assert_eq!(Trace::default().depth(), 0);
    }
}
