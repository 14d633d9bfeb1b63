//! How far a collection has got, for a progress display: counters the readers bump and a
//! display polls. Nothing here prints.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a collection under way, shared between the readers and whoever displays them.
#[derive(Debug, Default)]
pub struct Progress {
    instances_done: AtomicU64,
    tables_read: AtomicU64,
    requests: AtomicU64,
    /// Requests of table reads another pair of a fleet made (counted in `requests` by each pair
    /// that used them, sent once).
    replayed: AtomicU64,
}

/// What [`Progress::snapshot`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgressSnapshot {
    /// Instances whose every read has ended.
    pub instances_done: u64,
    /// Table reads ended (a table read on two instances counts twice).
    pub tables_read: u64,
    /// Requests sent for the ended table reads (pages and retries included; a read shared by
    /// the pairs of a fleet counts once).
    pub requests: u64,
}

impl Progress {
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            instances_done: self.instances_done.load(Ordering::Relaxed),
            tables_read: self.tables_read.load(Ordering::Relaxed),
            requests: self
                .requests
                .load(Ordering::Relaxed)
                .saturating_sub(self.replayed.load(Ordering::Relaxed)),
        }
    }

    pub(super) fn table_read(&self, requests: u64) {
        self.tables_read.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(requests, Ordering::Relaxed);
    }

    /// A table read served by another pair's read of a shared source: counted as read, its
    /// requests not as sent.
    pub(super) fn replayed(&self, requests: u64) {
        self.replayed.fetch_add(requests, Ordering::Relaxed);
    }

    pub(super) fn instance_done(&self) {
        self.instances_done.fetch_add(1, Ordering::Relaxed);
    }
}
