//! One instance being read: its client, the reads the waves make of it (each returning typed
//! rows, or why the table could not be read), and how each table read went (the coverage).

use super::progress::Progress;
use super::rows::{self, IdRow, Keyed};
use super::shared::SourceReads;
use super::trace::{Step, Trace};
use super::Read;
use crate::client::{Client, ClientError, Row, RowStamp, Rows, TableQuery, Typed};
use crate::evidence::{Cause, RowTimes, TableRead, Unreadable};
use crate::query::{self, MAX_QUERY_BYTES};
use crate::tables::Table;
use futures::future::join_all;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub(super) struct Reader {
    pub(super) client: Client,
    pub(super) name: String,
    coverage: Mutex<BTreeMap<String, TableRead>>,
    pub(super) progress: Arc<Progress>,
    /// In a fleet, the source's reads shared with the other pairs auditing it
    /// ([`super::shared`]); `None` on a target and in a standalone audit.
    shared: Option<Arc<SourceReads>>,
    /// Requests of the shared reads this reader used (its client did not send them).
    shared_sent: AtomicU64,
    /// When each row read was created and last changed, by sys_id: kept on the source only.
    times: Option<Mutex<BTreeMap<String, RowTimes>>>,
    /// The run's record of which read waited for which (shared by every instance of the run).
    trace: Arc<Trace>,
}

/// An answer, and where it stands on the chain of reads that led to it ([`Step`]): a read that
/// needs it waits for that step.
#[derive(Debug, Clone)]
pub(super) struct Got<V>(pub(super) V, pub(super) Step);

impl Reader {
    pub(super) fn new(client: Client, name: String, progress: Arc<Progress>) -> Self {
        Reader {
            client,
            name,
            coverage: Mutex::new(BTreeMap::new()),
            progress,
            shared: None,
            shared_sent: AtomicU64::new(0),
            times: None,
            trace: Arc::default(),
        }
    }

    /// The same reader, recording its reads in the run's `trace`.
    pub(super) fn tracing(mut self, trace: Arc<Trace>) -> Self {
        self.trace = trace;
        self
    }

    /// Keeps `sys_created_on` and `sys_updated_on` of every row read of a table that asks for
    /// them (the source's, for the backup window).
    pub(super) fn keeping_row_times(mut self) -> Self {
        self.times = Some(Mutex::new(BTreeMap::new()));
        self
    }

    /// The times kept so far (none unless [`Reader::keeping_row_times`]).
    pub(super) fn row_times(&self) -> BTreeMap<String, RowTimes> {
        self.times
            .as_ref()
            .map(|t| t.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    /// Whether the reads of `t` keep their rows' times (the source's user tables).
    fn keeps_times(&self, t: &Table) -> bool {
        self.times.is_some() && t.fields.contains(&"sys_updated_on")
    }

    fn keep_times(&self, stamps: impl Iterator<Item = RowStamp>) {
        let Some(times) = &self.times else { return };
        let mut times = times.lock().unwrap_or_else(|e| e.into_inner());
        for s in stamps {
            // A read that asked only for sys_ids (a preserver's matches) says nothing of times.
            if !s.sys_id.is_empty() && (s.said || !times.contains_key(&s.sys_id)) {
                let read = RowTimes {
                    created_on: s.created_on,
                    updated_on: s.updated_on,
                };
                times.insert(s.sys_id, read);
            }
        }
    }

    /// The same reader, taking the reads that do not depend on the targets from `shared`.
    pub(super) fn sharing(mut self, shared: Option<Arc<SourceReads>>) -> Self {
        self.shared = shared;
        self
    }

    /// The requests made for this reader: those its client sent, and those of the shared reads
    /// it used (as many as it would have sent for them itself).
    pub(super) fn requests_sent(&self) -> u64 {
        self.client.requests_sent() + self.shared_sent.load(Ordering::Relaxed)
    }

    /// The answer of `query`: from the shared reads when `share` and this reader has them,
    /// else from the instance.
    async fn get(&self, query: &TableQuery, share: bool) -> Result<Rows, ClientError> {
        let Some(shared) = self.shared.as_ref().filter(|_| share) else {
            return self.client.fetch(query).await;
        };
        let served = shared.fetch(&self.client, query).await;
        self.shared_sent.fetch_add(served.sent, Ordering::Relaxed);
        if served.replayed {
            tracing::debug!(instance = %self.name, table = %query.table, "shared with another pair");
            self.progress.replayed(served.sent);
        }
        served.answer
    }

    /// How each table read went, in table order (the map is keyed by table).
    pub(super) fn tables_read(&self) -> Vec<TableRead> {
        self.coverage
            .lock()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    fn record(&self, t: &Table, requests: u64, rows: u64, hidden: u64, error: Option<String>) {
        self.progress.table_read(requests);
        // An optional table's gaps stay in its fact: the coverage, whose gaps make a run
        // incomplete, leaves them out.
        let (hidden, error) = if t.optional {
            (0, None)
        } else {
            (hidden, error)
        };
        let mut cov = self.coverage.lock().unwrap_or_else(|e| e.into_inner());
        let entry = cov.entry(t.name.to_string()).or_insert_with(|| TableRead {
            table: t.name.to_string(),
            requests: 0,
            rows: 0,
            hidden_rows: 0,
            error: None,
            absent: false,
            cause: None,
        });
        entry.requests += requests;
        entry.rows += rows;
        entry.hidden_rows += hidden;
        if entry.error.is_none() {
            entry.error = error;
        }
    }

    /// A table the release lacks, which it may: read with no rows and no gap.
    fn absent(&self, t: &Table) {
        self.record(t, 1, 0, 0, None);
        let mut cov = self.coverage.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = cov.get_mut(t.name) {
            entry.absent = true;
        }
    }

    /// The kind of the error `record` kept for `t`, when it is this one.
    fn note_cause(&self, t: &Table, reason: &str, cause: Cause) {
        let mut cov = self.coverage.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = cov.get_mut(t.name) {
            if entry.error.as_deref() == Some(reason) && entry.cause.is_none() {
                entry.cause = Some(cause);
            }
        }
    }

    fn unreadable(&self, t: &Table, reason: String) -> Unreadable {
        Unreadable {
            table: t.name.to_string(),
            reason,
        }
    }

    /// A query that failed: unreadable, unless the release lacks a table that may be absent
    /// (no rows then).
    fn failed(&self, t: &Table, e: ClientError) -> Result<(), Unreadable> {
        if t.may_be_absent && e.is_invalid_table() {
            self.absent(t);
            return Ok(());
        }
        let reason = e.short();
        self.record(t, 1, 0, 0, Some(reason.clone()));
        self.note_cause(t, &reason, e.cause());
        Err(self.unreadable(t, reason))
    }

    /// The rows of a query's answer, recorded; rows hidden by ACLs make the read fail: what is
    /// hidden could be the very row that matters.
    fn checked<R>(&self, t: &Table, answer: Result<Rows<R>, ClientError>) -> Read<R> {
        let rows = match answer {
            Ok(rows) => rows,
            Err(e) => return self.failed(t, e).map(|()| Vec::new()),
        };
        let hidden = rows.hidden();
        self.record(t, rows.requests, rows.rows.len() as u64, hidden, None);
        if hidden > 0 {
            let announced = rows.announced.unwrap_or(0);
            let reason = format!("{hidden} of {announced} rows hidden by ACLs");
            return Err(self.unreadable(t, reason));
        }
        Ok(rows.rows)
    }

    /// What a query's answer of [`Row`] maps yields, typed (a shared read's, or the first
    /// request's).
    fn answered<T: DeserializeOwned>(
        &self,
        t: &Table,
        answer: Result<Rows, ClientError>,
    ) -> Read<T> {
        let rows = self.checked(t, answer)?;
        if self.keeps_times(t) {
            self.keep_times(rows.iter().map(stamp));
        }
        rows.into_iter()
            .map(rows::parse::<T>)
            .collect::<Result<_, _>>()
            .map_err(|e| {
                let reason = format!("a row could not be read: {e}");
                self.record(t, 0, 0, 0, Some(reason.clone()));
                self.unreadable(t, reason)
            })
    }

    async fn fetch<T: DeserializeOwned>(
        &self,
        t: &Table,
        q: String,
        fields: &[&str],
        after: Step,
    ) -> Got<Read<T>> {
        self.fetch_with(t, q, fields, false, after).await
    }

    /// [`Reader::fetch`], from the shared reads when `share` (a read that does not depend on
    /// the targets) and this reader has them; otherwise each row deserialised as its page is
    /// parsed, with no map in between.
    async fn fetch_with<T: DeserializeOwned>(
        &self,
        t: &Table,
        q: String,
        fields: &[&str],
        share: bool,
        after: Step,
    ) -> Got<Read<T>> {
        let query = TableQuery::new(t.name, q, fields);
        if share && self.shared.is_some() {
            let Got(answer, step) = self
                .timed(t, &query.query, after, self.get(&query, share))
                .await;
            return Got(self.answered(t, answer), step);
        }
        let times = self.keeps_times(t);
        let read = self.client.fetch_as::<Typed<T>>(&query, times);
        let Got(answer, step) = self.timed(t, &query.query, after, read).await;
        let rows = self.checked(t, answer).map(|rows| {
            let (rows, stamps): (Vec<T>, Vec<Option<RowStamp>>) =
                rows.into_iter().map(|r| (r.row, r.stamp)).unzip();
            self.keep_times(stamps.into_iter().flatten());
            rows
        });
        Got(rows, step)
    }

    /// Records one read that waited for `after` in the run's trace; `-v` logs it (instance,
    /// table, rows, requests, time, round trips so far) and `-vv` its query and the read it
    /// waited for.
    async fn timed<R>(
        &self,
        t: &Table,
        q: &str,
        after: Step,
        read: impl std::future::Future<Output = Result<Rows<R>, ClientError>>,
    ) -> Got<Result<Rows<R>, ClientError>> {
        let id = self.trace.begin();
        tracing::debug!(instance = %self.name, table = t.name, query = q, read = id, after = after.read, "reading");
        let started = Instant::now();
        let answer = read.await;
        let ms = started.elapsed().as_millis() as u64;
        let requests = answer.as_ref().map_or(1, |r| r.requests);
        let step = self.trace.end(id, &self.name, t.name, requests, after);
        let trips = step.trips;
        match &answer {
            Ok(r) => {
                tracing::info!(instance = %self.name, table = t.name, rows = r.rows.len(), requests = r.requests, ms, read = id, trips, "read")
            }
            Err(e) => {
                tracing::info!(instance = %self.name, table = t.name, error = %e.short(), ms, read = id, trips, "not read")
            }
        }
        Got(answer, step)
    }

    /// The first request to the instance, [`Table::probe`] of `t`: `Err` when its answer shows
    /// the instance cannot be read at all (unreachable, credentials refused, not the API).
    pub(super) async fn first_request<T: DeserializeOwned>(
        &self,
        t: &Table,
    ) -> Result<Got<Read<T>>, ClientError> {
        let query = TableQuery::new(t.name, t.probe, t.fields);
        match self
            .timed(t, t.probe, Step::START, self.get(&query, true))
            .await
        {
            Got(Err(e), _) if e.is_fatal_on_first_request() => Err(e),
            Got(answer, step) => Ok(Got(self.answered(t, answer), step)),
        }
    }

    /// All rows of one query.
    pub(super) async fn read<T: DeserializeOwned>(
        &self,
        t: &Table,
        q: impl Into<String>,
        after: Step,
    ) -> Got<Read<T>> {
        self.fetch(t, q.into(), t.fields, after).await
    }

    /// The rows the audit reads first ([`Table::probe`]): a fixed query, shared in a fleet.
    pub(super) async fn initial<T: DeserializeOwned>(
        &self,
        t: &Table,
        after: Step,
    ) -> Got<Read<T>> {
        self.fetch_with(t, t.probe.into(), t.fields, true, after)
            .await
    }

    /// The rows the audit reads first of a table a release may lack ([`Table::may_be_absent`]):
    /// `None` when this release lacks it (400 "Invalid table"), read with no gap.
    pub(super) async fn initial_or_absent<T: DeserializeOwned>(
        &self,
        t: &Table,
        after: Step,
    ) -> Got<Result<Option<Vec<T>>, Unreadable>> {
        let query = TableQuery::new(t.name, t.probe, t.fields);
        let Got(answer, step) = self.timed(t, t.probe, after, self.get(&query, true)).await;
        let rows = match answer {
            Err(e) if t.may_be_absent && e.is_invalid_table() => {
                self.absent(t);
                Ok(None)
            }
            answer => self.answered(t, answer).map(Some),
        };
        Got(rows, step)
    }

    /// Rows whose `field` is in `values`, in as many requests as 8 KB URLs need. No request when
    /// `values` is empty.
    pub(super) async fn read_in<T: DeserializeOwned + Keyed>(
        &self,
        t: &Table,
        field: &str,
        values: &BTreeSet<String>,
        after: Step,
    ) -> Got<Read<T>> {
        self.read_any(t, &[(field, values)], after).await
    }

    /// [`Reader::read_in`] of values that follow from shared reads alone (never from a
    /// target's), itself shared in a fleet.
    pub(super) async fn read_in_shared<T: DeserializeOwned + Keyed>(
        &self,
        t: &Table,
        field: &str,
        values: &BTreeSet<String>,
        after: Step,
    ) -> Got<Read<T>> {
        self.read_any_with(t, &[(field, values)], true, after).await
    }

    /// Rows matching any of `terms` (`<field>IN<values>`, joined with `^OR`), in as many
    /// requests as 8 KB URLs need ([`query::or_chunks`]), side by side. No request when every
    /// list is empty.
    pub(super) async fn read_any<T: DeserializeOwned + Keyed>(
        &self,
        t: &Table,
        terms: &[(&str, &BTreeSet<String>)],
        after: Step,
    ) -> Got<Read<T>> {
        self.read_any_with(t, terms, false, after).await
    }

    async fn read_any_with<T: DeserializeOwned + Keyed>(
        &self,
        t: &Table,
        terms: &[(&str, &BTreeSet<String>)],
        share: bool,
        after: Step,
    ) -> Got<Read<T>> {
        let chunks = query::or_chunks(terms, MAX_QUERY_BYTES);
        let reads = chunks
            .into_iter()
            .map(|q| self.fetch_with::<T>(t, q, t.fields, share, after));
        let results = join_all(reads).await;
        let step = Step::all(results.iter().map(|g| g.1).chain([after]));
        Got(dedup(results.into_iter().map(|g| g.0)), step)
    }

    /// Rows of users given by sys_id and by login name: `userIN` for ids and `user.user_nameIN`
    /// for names safe in a list (ORed into the same requests where they fit), `user.user_name=`
    /// one by one for names holding a comma. Groups by name are read the same way.
    pub(super) async fn read_by_users<T: DeserializeOwned + Keyed>(
        &self,
        t: &Table,
        id_field: &str,
        name_field: &str,
        ids: &BTreeSet<String>,
        names: &BTreeSet<String>,
        after: Step,
    ) -> Got<Read<T>> {
        let (listable, single): (BTreeSet<String>, BTreeSet<String>) =
            names.iter().cloned().partition(|n| query::safe_in_list(n));
        let single: Vec<String> = single
            .into_iter()
            .filter(|n| query::safe_equals(n))
            .collect();
        let terms = [(id_field, ids), (name_field, &listable)];
        let (Got(listed, step), one_by_one) = futures::join!(
            self.read_any::<T>(t, &terms, after),
            join_all(
                single
                    .iter()
                    .map(|n| self.read::<T>(t, format!("{name_field}={n}"), after))
            ),
        );
        let step = Step::all(one_by_one.iter().map(|g| g.1).chain([step]));
        let one_by_one = one_by_one
            .into_iter()
            .map(|g| g.0)
            .collect::<Result<Vec<_>, _>>()
            .map(|rows| rows.into_iter().flatten().collect());
        Got(merge(listed, one_by_one), step)
    }

    /// The sys_ids of the rows one query matches (nothing else is asked for).
    pub(super) async fn ids(&self, t: &Table, q: String, after: Step) -> Got<Read<String>> {
        let Got(rows, step) = self.fetch::<IdRow>(t, q, &["sys_id"], after).await;
        Got(
            rows.map(|rows| rows.into_iter().map(|r| r.sys_id).collect()),
            step,
        )
    }

    /// The sys_ids of the first page (`limit` rows at most) of the rows `q` matches, with how
    /// many rows it matches in all (`X-Total-Count`; without it the read is unreadable, as a
    /// count is).
    pub(super) async fn first_ids(
        &self,
        t: &Table,
        q: &str,
        limit: u64,
        after: Step,
    ) -> Got<Result<FirstPage, Unreadable>> {
        let query = TableQuery::new(t.name, q, &["sys_id"]);
        let Got(answer, step) = self
            .timed(t, q, after, self.client.first_page(&query, limit))
            .await;
        let page = match answer {
            Ok(rows) => {
                self.record(t, rows.requests, rows.rows.len() as u64, 0, None);
                match rows.announced {
                    Some(total) => Ok(FirstPage {
                        ids: rows
                            .rows
                            .into_iter()
                            .filter_map(|mut r| r.remove("sys_id"))
                            .map(|id| id.trim().to_string())
                            .collect(),
                        total,
                        limit,
                    }),
                    None => {
                        let e = ClientError::MissingCount {
                            instance: self.name.clone(),
                            table: Some(t.name.to_string()),
                        };
                        let reason = e.short();
                        self.record(t, 0, 0, 0, Some(reason.clone()));
                        self.note_cause(t, &reason, e.cause());
                        Err(self.unreadable(t, reason))
                    }
                }
            }
            Err(e) => self.failed(t, e).map(|()| FirstPage {
                ids: Vec::new(),
                total: 0,
                limit,
            }),
        };
        Got(page, step)
    }
}

/// The first page of a query's matches ([`Reader::first_ids`]).
pub(super) struct FirstPage {
    /// The sys_ids of the page.
    pub(super) ids: Vec<String>,
    /// How many rows the query matches (`X-Total-Count`, counted before ACLs trim the page).
    pub(super) total: u64,
    /// The page's size.
    pub(super) limit: u64,
}

impl FirstPage {
    /// Every row matched, when the page holds them all: no more than the page, none hidden.
    pub(super) fn all(self) -> Option<Vec<String>> {
        (self.total <= self.limit && self.ids.len() as u64 == self.total).then_some(self.ids)
    }
}

/// When a [`Row`] was created and last changed, as it came.
fn stamp(row: &Row) -> RowStamp {
    let field = |f: &str| row.get(f).map(|v| v.trim().to_string()).unwrap_or_default();
    RowStamp {
        sys_id: field("sys_id"),
        created_on: field("sys_created_on"),
        updated_on: field("sys_updated_on"),
        said: row.contains_key("sys_updated_on") || row.contains_key("sys_created_on"),
    }
}

/// The rows of several reads of one table, each once (by sys_id); unreadable when any read is.
fn dedup<T: Keyed>(reads: impl IntoIterator<Item = Read<T>>) -> Read<T> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for r in reads {
        for row in r? {
            let id = row.sys_id();
            if id.is_empty() || seen.insert(id.to_string()) {
                out.push(row);
            }
        }
    }
    Ok(out)
}

/// `a` and the rows of `b` it lacks (by sys_id); unreadable when either is, `a`'s reason first.
pub(super) fn merge<T: Keyed>(a: Read<T>, b: Read<T>) -> Read<T> {
    let mut a = a?;
    let mut seen: BTreeSet<String> = a.iter().map(|r| r.sys_id().to_string()).collect();
    for r in b? {
        if seen.insert(r.sys_id().to_string()) {
            a.push(r);
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ServerMessage;
    use crate::config::{Auth, ClientSettings, ResolvedInstance, Secret};
    use crate::tables::ECC_AGENT;

    fn reader() -> Reader {
        let ri = ResolvedInstance {
            name: "dev".into(),
            url: "https://dev.example.invalid".into(),
            production: None,
            auth: Auth::Basic {
                username: "audit".into(),
                password: Secret::new("pw".into()),
            },
        };
        let client = Client::new(&ri, &ClientSettings::default()).expect("client");
        Reader::new(client, ri.name, Arc::default())
    }

    fn refused(status: u16, message: &str) -> ClientError {
        let message = ServerMessage {
            message: message.into(),
            detail: None,
        };
        let (instance, table) = ("dev".to_string(), Some("ecc_agent".to_string()));
        match status {
            400 => ClientError::BadRequest {
                instance,
                table,
                message,
            },
            _ => ClientError::Forbidden {
                instance,
                table,
                message,
            },
        }
    }

    /// A table some releases lack, and one the audit is complete without.
    const MAY_BE_ABSENT: Table = Table {
        may_be_absent: true,
        ..ECC_AGENT
    };
    const OPTIONAL: Table = Table {
        optional: true,
        ..ECC_AGENT
    };

    fn coverage(r: &Reader) -> (u64, u64, Option<String>) {
        let c = r.tables_read().pop().expect("one table read");
        (c.requests, c.hidden_rows, c.error)
    }

    #[test]
    fn a_missing_table_that_may_be_absent_has_no_rows_and_no_gap() {
        let r = reader();
        let read =
            r.answered::<IdRow>(&MAY_BE_ABSENT, Err(refused(400, "Invalid table ecc_agent")));
        assert!(read.is_ok_and(|rows| rows.is_empty()));
        assert_eq!(coverage(&r), (1, 0, None));
        // Any other refusal is still unreadable, and so is a table every release has.
        let r = reader();
        let read = r.answered::<IdRow>(&MAY_BE_ABSENT, Err(refused(403, "no")));
        assert!(read.is_err());
        let r = reader();
        let read = r.answered::<IdRow>(&ECC_AGENT, Err(refused(400, "Invalid table ecc_agent")));
        assert!(read.is_err_and(|e| e.reason.contains("Invalid table")));
        assert!(coverage(&r).2.is_some());
    }

    #[test]
    fn an_optional_table_keeps_its_gaps_in_the_fact_not_the_coverage() {
        let r = reader();
        let read = r.answered::<IdRow>(&OPTIONAL, Err(refused(403, "no")));
        assert!(read.is_err_and(|e| e.table == "ecc_agent"));
        let hidden = Rows {
            rows: vec![],
            announced: Some(2),
            requests: 1,
        };
        let read = r.answered::<IdRow>(&OPTIONAL, Ok(hidden.clone()));
        assert!(read.is_err_and(|e| e.reason.contains("hidden by ACLs")));
        assert_eq!(coverage(&r), (2, 0, None));
        // A table the audit needs records both.
        let r = reader();
        let _ = r.answered::<IdRow>(&ECC_AGENT, Ok(hidden));
        assert_eq!(coverage(&r), (1, 2, None));
    }
}
