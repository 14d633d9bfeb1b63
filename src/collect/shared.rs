//! What the audits of a fleet (`audit --pairs`) share: one client per instance, so that the
//! concurrency limit and the OAuth token hold per instance across every pair, and, per source,
//! the reads of the source that do not depend on the targets, each made once and handed to every
//! pair that audits that source.
//!
//! A read is shared when its query is fixed ([`crate::tables::Table::probe`]: the first request,
//! the holders of `mid_server`, the MID Servers and their configured users, the roles containing
//! `mid_server`, the preservers, properties, clone profiles, exclusions and requests) or follows
//! from shared reads alone (the roles containing those, up the hierarchy; the `instance` records
//! the requests point to). Every read that names a target's users, groups or roles is each pair's
//! own. A shared answer is handed to each pair whole (rows, count, requests, error), and each
//! pair's reader records it as if it had read it itself, so each pair's evidence, coverage and
//! request count are those of a standalone audit of that pair.

use crate::client::{Client, ClientError, Rows, TableQuery};
use crate::config::{ClientSettings, ResolvedInstance};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::OnceCell;

/// The clients and shared source reads of one fleet run. Standalone audits use none.
#[derive(Default)]
pub struct FleetReads {
    clients: Mutex<HashMap<String, Client>>,
    sources: Mutex<HashMap<String, Arc<SourceReads>>>,
}

impl std::fmt::Debug for FleetReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetReads").finish_non_exhaustive()
    }
}

impl FleetReads {
    pub fn new() -> FleetReads {
        FleetReads::default()
    }

    /// The client of `instance` for one pair: the fleet's client of that instance (made on
    /// first use), counting this pair's requests apart.
    pub(super) fn client(
        &self,
        instance: &ResolvedInstance,
        settings: &ClientSettings,
    ) -> Result<Client, ClientError> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let client = match clients.get(&instance.name) {
            Some(c) => c.clone(),
            None => {
                let c = Client::new(instance, settings)?;
                clients.insert(instance.name.clone(), c.clone());
                c
            }
        };
        Ok(client.counted_apart())
    }

    /// The shared reads of the source named `name`.
    pub(super) fn source(&self, name: &str) -> Arc<SourceReads> {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        sources.entry(name.to_string()).or_default().clone()
    }
}

/// One answer of a shared read, and the requests it took (pages, retries, a token request).
#[derive(Clone)]
struct Shared {
    answer: Result<Rows, ClientError>,
    sent: u64,
}

/// Table, query and fields of a read.
type Key = (String, String, Vec<String>);

/// The shared reads of one source: each query's answer, made once by whichever pair asks first
/// (the others wait for it).
#[derive(Default)]
pub(super) struct SourceReads {
    reads: Mutex<BTreeMap<Key, Arc<OnceCell<Shared>>>>,
}

/// What a pair gets from a shared read.
pub(super) struct Served {
    pub(super) answer: Result<Rows, ClientError>,
    /// Requests the read took.
    pub(super) sent: u64,
    /// Whether another pair made the read (this pair sent nothing for it).
    pub(super) replayed: bool,
}

impl SourceReads {
    /// The answer of `query`, read with `client` (counted apart, so the requests are told
    /// exactly) unless a pair has read it already or is reading it.
    pub(super) async fn fetch(&self, client: &Client, query: &TableQuery) -> Served {
        let key = (
            query.table.clone(),
            query.query.clone(),
            query.fields.clone(),
        );
        let cell = self
            .reads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .clone();
        let mut replayed = true;
        let shared = cell
            .get_or_init(|| {
                replayed = false;
                async {
                    let apart = client.counted_apart();
                    let answer = apart.fetch(query).await;
                    Shared {
                        answer,
                        sent: apart.requests_sent(),
                    }
                }
            })
            .await
            .clone();
        Served {
            answer: shared.answer,
            sent: shared.sent,
            replayed,
        }
    }
}
