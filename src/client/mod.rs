//! The only module that speaks HTTP: `GET` on the REST Table API and the OAuth token `POST`,
//! nothing else. It authenticates, follows every page (taking only the offset from a `Link`
//! header, never its host), retries what is worth retrying (429, 5xx, timeouts, cut-off bodies),
//! keeps only the requested fields of each row, and turns everything else into a [`ClientError`]
//! that names the instance, the table and what to do. No error, log line or `Debug` output holds
//! a credential.
//!
//! Where a change goes: the paging and the public types here; one request's retries, permit,
//! timeout and token refresh in `send`; what an answer means in `classify`; credentials and the
//! OAuth token in `auth`; row parsing in `body`; the `Link` header in `link`; secret blanking in
//! `redact`; the error messages in `error`.

mod auth;
mod body;
mod classify;
mod error;
mod link;
mod redact;
mod send;

pub use body::{FromFields, RowStamp, Typed};
pub use error::{ClientError, ServerMessage};

use crate::config::{Auth, BaseUrl, ClientSettings, ResolvedInstance};
use auth::TokenSlot;
use link::LinkNext;
use send::{shared_http, Target};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{Mutex, Semaphore};

/// One Table API row with every value normalised to a string: plain strings stay as they are,
/// `{"link","value"}` and `{"display_value","value"}` give `value` (or `display_value` when no
/// `value`), `null` gives `""`, numbers and booleans their JSON text.
pub type Row = BTreeMap<String, String>;

/// One query: a table, an encoded query, the fields to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableQuery {
    pub table: String,
    /// `sysparm_query`; empty for none.
    pub query: String,
    /// `sysparm_fields`; never empty.
    pub fields: Vec<String>,
}

impl TableQuery {
    pub fn new(table: &str, query: impl Into<String>, fields: &[&str]) -> Self {
        TableQuery {
            table: table.to_string(),
            query: query.into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }
    }
}

/// All rows of a query, every page followed: [`Row`] maps, or typed rows ([`Typed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows<R = Row> {
    pub rows: Vec<R>,
    /// `X-Total-Count` of the first page, when sent.
    pub announced: Option<u64>,
    /// Requests this call sent (pages and retries included).
    pub requests: u64,
}

impl<R> Default for Rows<R> {
    fn default() -> Self {
        Rows {
            rows: Vec::new(),
            announced: None,
            requests: 0,
        }
    }
}

impl<R> Rows<R> {
    /// Rows the instance counted but did not send (ACL trimming).
    pub fn hidden(&self) -> u64 {
        self.announced
            .map(|a| a.saturating_sub(self.rows.len() as u64))
            .unwrap_or(0)
    }
}

/// What one small read of a table showed ([`Client::probe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Rows that came back.
    pub rows: u64,
    /// `X-Total-Count`, when sent (counted before ACLs trim the page).
    pub announced: Option<u64>,
    /// `sysparm_limit` of the read.
    pub limit: u64,
}

impl Probe {
    /// Rows of the page the instance counted but did not send: a hint of ACL trimming (or
    /// domain separation).
    pub fn hidden(&self) -> u64 {
        self.announced
            .map(|a| a.min(self.limit).saturating_sub(self.rows))
            .unwrap_or(0)
    }
}

/// Rows asked for per page unless [`Client::with_page_size`] says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// The most pages one query may take before paging is called malformed.
const MAX_PAGES: u64 = 10_000;

/// A client for one instance. Cheap to clone: clones share the connection pool, the OAuth
/// token, the concurrency limit and the request counter ([`Client::counted_apart`] makes one
/// that counts its requests on its own).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    page_size: usize,
    /// Requests sent by this client and the clones that share its count.
    sent: Arc<AtomicU64>,
}

struct Inner {
    name: String,
    /// Base URL without a trailing slash.
    base: String,
    host: String,
    auth: Auth,
    settings: ClientSettings,
    http: reqwest::Client,
    permits: Semaphore,
    token: Mutex<TokenSlot>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("instance", &self.inner.name)
            .field("url", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// One page to read.
struct PageRequest<'a> {
    table: &'a str,
    /// `sysparm_query`; empty for none.
    query: &'a str,
    /// `sysparm_fields`, and the only fields a row keeps.
    fields: &'a [&'a str],
    limit: u64,
    offset: u64,
}

impl<'a> PageRequest<'a> {
    /// `GET {base}/api/now/v2/table/{table}` with the query, the fields, the limit and the
    /// offset; references as plain sys_ids.
    fn url(&self, base: &str) -> Result<url::Url, String> {
        let table = self.table;
        if table.is_empty() || !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "'{table}' is not a table name (letters, digits and _ only)"
            ));
        }
        let mut url = url::Url::parse(&format!("{base}/api/now/v2/table/{table}"))
            .map_err(|e| format!("could not build the request URL ({e})"))?;
        let query: Vec<String> = [
            ("sysparm_query", self.query),
            ("sysparm_fields", &self.fields.join(",")),
            ("sysparm_limit", &self.limit.to_string()),
            ("sysparm_offset", &self.offset.to_string()),
            ("sysparm_exclude_reference_link", "true"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
        url.set_query(Some(&query.join("&")));
        Ok(url)
    }

    /// The first page of `limit` rows, `sys_id` only.
    fn ids(table: &'a str, query: &'a str, limit: u64) -> Self {
        PageRequest {
            table,
            query,
            fields: &["sys_id"],
            limit,
            offset: 0,
        }
    }
}

/// What a query value keeps as it is: letters, digits, `-`, `_`, `.` (as form encoding does)
/// and `,` (a sub-delimiter RFC 3986 allows in a query; the separator of `IN` lists, read back
/// as itself). Everything else is percent-encoded, a blank as `%20`.
const KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b',');

/// A query parameter's value as it goes into the URL ([`crate::query::encoded_len`] counts
/// these bytes).
fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, KEPT).to_string()
}

/// One page as read.
struct Page<R = Row> {
    rows: Vec<R>,
    /// `X-Total-Count`, when sent.
    total: Option<u64>,
    link: LinkNext,
}

/// Where paging goes next, kept from looping: every offset is read once, always forward, and
/// at most [`MAX_PAGES`] pages.
struct Pager {
    seen: HashSet<u64>,
    pages: u64,
}

impl Default for Pager {
    fn default() -> Self {
        Pager {
            seen: HashSet::from([0]),
            pages: 0,
        }
    }
}

impl Pager {
    /// The offset of the page after `page` (read with `req`): the `Link` header's next, else
    /// one more page while `X-Total-Count` (or, without it, a full page) says there is more.
    fn next<R>(&mut self, req: &PageRequest<'_>, page: &Page<R>) -> Result<Option<u64>, String> {
        self.pages += 1;
        let (offset, limit) = (req.offset, req.limit);
        let next = match page.link {
            LinkNext::Next(n) => n,
            LinkNext::NoNext => return Ok(None),
            LinkNext::Absent => {
                let more = match page.total {
                    Some(total) => offset + limit < total,
                    None => page.rows.len() as u64 >= limit,
                };
                if !more {
                    return Ok(None);
                }
                offset + limit
            }
        };
        if next <= offset {
            return Err(format!(
                "the next page's offset {next} does not advance past {offset}"
            ));
        }
        if !self.seen.insert(next) {
            return Err(format!("offset {next} was already read"));
        }
        if self.pages >= MAX_PAGES {
            return Err(format!("more than {MAX_PAGES} pages"));
        }
        Ok(Some(next))
    }
}

impl Client {
    /// A client for one instance. Checks the URL; sends nothing.
    pub fn new(
        instance: &ResolvedInstance,
        settings: &ClientSettings,
    ) -> Result<Client, ClientError> {
        let setup = |reason: String| ClientError::Setup {
            instance: instance.name.clone(),
            reason,
        };
        let url = BaseUrl::parse(&instance.url).map_err(|e| setup(format!("the URL {e}")))?;
        let http = shared_http().map_err(setup)?;
        Ok(Client {
            inner: Arc::new(Inner {
                name: instance.name.clone(),
                base: url.as_str().to_string(),
                host: url.host_port(),
                auth: instance.auth.clone(),
                settings: settings.clone(),
                http,
                permits: Semaphore::new(settings.concurrency.max(1)),
                token: Mutex::new(TokenSlot::default()),
            }),
            page_size: DEFAULT_PAGE_SIZE,
            sent: Arc::default(),
        })
    }

    /// The same client asking for `n` rows per page (1 to 10,000).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, 10_000);
        self
    }

    /// The instance name.
    pub fn instance(&self) -> &str {
        &self.inner.name
    }

    /// Every HTTP request sent so far by this client and the clones that share its count:
    /// pages, retries and token requests.
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// A clone sharing the connection pool, the OAuth token and the concurrency limit, whose
    /// requests are counted apart from this client's, from zero: the audits of a fleet share
    /// one client per instance and each counts its own requests.
    pub fn counted_apart(&self) -> Client {
        Client {
            sent: Arc::default(),
            ..self.clone()
        }
    }

    /// Every row of a query, every page followed.
    pub async fn fetch(&self, q: &TableQuery) -> Result<Rows, ClientError> {
        self.fetch_as::<Row>(q, false).await
    }

    /// [`Client::fetch`], each row made `R` as its page is parsed (a [`Typed`] row with no
    /// [`Row`] map in between), with its [`RowStamp`] when `times`.
    pub async fn fetch_as<R: FromFields>(
        &self,
        q: &TableQuery,
        times: bool,
    ) -> Result<Rows<R>, ClientError> {
        let fields: Vec<&str> = q
            .fields
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .collect();
        if fields.is_empty() {
            return Err(self.setup(format!(
                "a query on table '{}' named no fields; every request must name sysparm_fields",
                q.table
            )));
        }
        let mut req = PageRequest {
            table: &q.table,
            query: &q.query,
            fields: &fields,
            limit: self.page_size as u64,
            offset: 0,
        };
        let (mut out, mut sent, mut pager) = (Rows::default(), 0u64, Pager::default());
        loop {
            let page = self.get_page::<R>(&req, &mut sent, times).await?;
            let next = pager
                .next(&req, &page)
                .map_err(|reason| ClientError::Paging {
                    instance: self.inner.name.clone(),
                    table: Some(q.table.clone()),
                    reason,
                })?;
            if pager.pages == 1 {
                out.announced = page.total;
            }
            out.rows.extend(page.rows);
            let Some(next) = next else { break };
            req.offset = next;
        }
        out.requests = sent;
        Ok(out)
    }

    /// One page of at most `limit` rows (sys_id only, no paging): how many rows came back and
    /// how many the instance counted. For `preclone doctor`.
    pub async fn probe(&self, table: &str, query: &str, limit: u64) -> Result<Probe, ClientError> {
        let limit = limit.clamp(1, 10_000);
        let page = self
            .get_page::<Row>(&PageRequest::ids(table, query, limit), &mut 0, false)
            .await?;
        Ok(Probe {
            rows: page.rows.len() as u64,
            announced: page.total,
            limit,
        })
    }

    /// The first page of a query, at most `limit` rows (1 to 10,000), with the `X-Total-Count`
    /// of every row it matches: all of them when that count is within the page (and none was
    /// hidden), and how many otherwise. One request (and its retries), no paging.
    pub async fn first_page(&self, q: &TableQuery, limit: u64) -> Result<Rows, ClientError> {
        let fields: Vec<&str> = q.fields.iter().map(String::as_str).collect();
        let req = PageRequest {
            table: &q.table,
            query: &q.query,
            fields: &fields,
            limit: limit.clamp(1, 10_000),
            offset: 0,
        };
        let mut sent = 0;
        let page = self.get_page::<Row>(&req, &mut sent, false).await?;
        Ok(Rows {
            rows: page.rows,
            announced: page.total,
            requests: sent,
        })
    }

    /// How many rows of `table` match `query`, from `X-Total-Count` (`sysparm_limit=1`).
    pub async fn count(&self, table: &str, query: &str) -> Result<u64, ClientError> {
        let page = self
            .get_page::<Row>(&PageRequest::ids(table, query, 1), &mut 0, false)
            .await?;
        page.total.ok_or_else(|| ClientError::MissingCount {
            instance: self.inner.name.clone(),
            table: Some(table.to_string()),
        })
    }

    fn setup(&self, reason: String) -> ClientError {
        ClientError::Setup {
            instance: self.inner.name.clone(),
            reason,
        }
    }

    /// One page, with retries. `sent` counts every request, token requests included.
    async fn get_page<R: FromFields>(
        &self,
        req: &PageRequest<'_>,
        sent: &mut u64,
        times: bool,
    ) -> Result<Page<R>, ClientError> {
        let url = req
            .url(&self.inner.base)
            .map_err(|reason| self.setup(reason))?;
        let wanted: HashSet<&str> = req.fields.iter().copied().collect();
        let target = Target::Table {
            table: req.table,
            url: &url,
        };
        self.send(target, sent, |cx, answer| {
            classify::page::<R>(cx, answer, &wanted, times)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(rows: usize, total: Option<u64>, link: LinkNext) -> Page {
        Page {
            rows: vec![Row::new(); rows],
            total,
            link,
        }
    }

    fn at(offset: u64) -> PageRequest<'static> {
        PageRequest {
            offset,
            ..PageRequest::ids("sys_user", "", 10)
        }
    }

    #[test]
    fn paging_follows_link_then_total_then_full_pages() {
        let mut p = Pager::default();
        assert_eq!(
            p.next(&at(0), &page(10, None, LinkNext::Next(10))),
            Ok(Some(10))
        );
        assert_eq!(p.next(&at(10), &page(3, None, LinkNext::NoNext)), Ok(None));
        let mut p = Pager::default();
        assert_eq!(
            p.next(&at(0), &page(8, Some(25), LinkNext::Absent)),
            Ok(Some(10))
        );
        assert_eq!(
            p.next(&at(20), &page(5, Some(25), LinkNext::Absent)),
            Ok(None)
        );
        let mut p = Pager::default();
        assert_eq!(
            p.next(&at(0), &page(10, None, LinkNext::Absent)),
            Ok(Some(10))
        );
        assert_eq!(p.next(&at(10), &page(9, None, LinkNext::Absent)), Ok(None));
    }

    #[test]
    fn paging_that_would_loop_is_refused() {
        let mut p = Pager::default();
        let back = p.next(&at(20), &page(10, None, LinkNext::Next(20)));
        assert!(back.is_err_and(|e| e.contains("does not advance")));
        let mut p = Pager::default();
        assert_eq!(
            p.next(&at(0), &page(10, None, LinkNext::Next(10))),
            Ok(Some(10))
        );
        let again = p.next(&at(5), &page(10, None, LinkNext::Next(10)));
        assert!(again.is_err_and(|e| e.contains("already read")));
        let mut p = Pager {
            pages: MAX_PAGES - 1,
            ..Pager::default()
        };
        let many = p.next(&at(0), &page(10, None, LinkNext::Next(10)));
        assert!(many.is_err_and(|e| e.contains("more than")));
    }

    #[test]
    fn the_page_url_names_every_parameter_and_only_table_names() {
        let mut req = PageRequest::ids("sys_user", "active=true^ORDERBYsys_id", 5);
        req.offset = 15;
        let url = req.url("https://acme.service-now.com").expect("a URL");
        assert_eq!(
            url.as_str(),
            "https://acme.service-now.com/api/now/v2/table/sys_user?sysparm_query=active%3Dtrue%5EORDERBYsys_id&sysparm_fields=sys_id&sysparm_limit=5&sysparm_offset=15&sysparm_exclude_reference_link=true"
        );
        // The commas of a list stay as they are; what else is not plain is encoded.
        let fields = ["sys_id", "user.user_name"];
        let req = PageRequest {
            table: "sys_user_has_role",
            query: "userINa,b^user.user_name=x y&z",
            fields: &fields,
            limit: 5,
            offset: 0,
        };
        let url = req.url("https://acme.service-now.com").expect("a URL");
        assert!(
            url.as_str().contains(
                "?sysparm_query=userINa,b%5Euser.user_name%3Dx%20y%26z&sysparm_fields=sys_id,user.user_name&"
            ),
            "{url}"
        );
        let back: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(back[0].1, "userINa,b^user.user_name=x y&z");
        assert_eq!(back[1].1, "sys_id,user.user_name");
        for bad in ["", "sys_user/../x", "sys user", "t?x=1"] {
            assert!(
                PageRequest::ids(bad, "", 1).url("https://h").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_query_within_the_budget_makes_a_url_under_8_kb() {
        use crate::query::{encoded_len, restricted_chunks, MAX_QUERY_BYTES};
        // A restricted preserver condition at the budget, with every byte that encodes widest,
        // on the table with the longest field list, at an instance with a long host name.
        let groups: Vec<String> = (0..12)
            .map(|i| format!("user.name=é ~*{i}^ORlocked_out!=true"))
            .collect();
        let ids: Vec<String> = (0..400).map(|i| format!("{i:032x}")).collect();
        let queries =
            restricted_chunks(&groups.join("^NQ"), "user", &ids, MAX_QUERY_BYTES).expect("fits");
        let table = crate::tables::ALL
            .iter()
            .max_by_key(|t| t.fields.join(",").len())
            .expect("tables");
        // The longest host name DNS allows (253 characters), with a port.
        let host = [
            "x".repeat(63),
            "y".repeat(63),
            "z".repeat(63),
            "w".repeat(57),
        ]
        .join(".");
        let base = format!("https://{host}.com:65535");
        for q in &queries {
            assert!(encoded_len(q) <= MAX_QUERY_BYTES);
            let req = PageRequest {
                table: table.name,
                query: q,
                fields: table.fields,
                limit: 10_000,
                offset: 1_000_000_000,
            };
            let url = req.url(&base).expect("a URL");
            assert!(url.as_str().len() < 8192, "{} bytes", url.as_str().len());
        }
        // The worst case for any query the budget admits.
        let worst = "~".repeat(MAX_QUERY_BYTES / 3);
        assert_eq!(encoded_len(&worst), MAX_QUERY_BYTES);
        let req = PageRequest {
            table: table.name,
            query: &worst,
            fields: table.fields,
            limit: 10_000,
            offset: 1_000_000_000,
        };
        let url = req.url(&base).expect("a URL");
        assert!(url.as_str().len() < 8192, "{} bytes", url.as_str().len());
    }
}
