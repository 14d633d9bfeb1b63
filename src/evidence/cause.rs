//! Why something could not be read or decided, by what fixes it: the cause of an unreadable
//! fact, recorded by the collector where the client knew it, else read from the reason text.

use serde::{Deserialize, Serialize};

/// Why something could not be read or decided, by what fixes it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Cause {
    /// 401, or a refused OAuth token request: the credentials.
    Credentials,
    /// No connection (DNS, refused, TLS), or a redirect (never followed).
    Unreachable,
    /// A page of HTML instead of the REST API: a hibernating instance or an SSO login page.
    Html,
    /// 403, a 404 an ACL answers, or rows hidden by ACLs: the audit user may not read it.
    Acl,
    /// No answer within `--timeout`.
    Timeout,
    /// Still 429 after every retry.
    RateLimited,
    /// Not read at all: the run stopped at another instance first.
    NotRead,
    /// A value a check needs was missing or malformed in rows that were read.
    UnknownValue,
    /// Anything else: a server error, a malformed answer or paging, a refused query.
    Other,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The kind of a reason written by the collector (`ClientError::short`, the rows-hidden and
    /// not-read texts), for evidence that does not record it.
    pub fn of_reason(reason: &str) -> Cause {
        let has = |s: &str| reason.contains(s);
        if has("not read: the run stopped") {
            Cause::NotRead
        } else if has("401 Unauthorized") || has("OAuth token request failed") {
            Cause::Credentials
        } else if has("403 Forbidden") || has("404 Not Found") || has("hidden by ACLs") {
            Cause::Acl
        } else if has("timed out after") {
            Cause::Timeout
        } else if has("hibernating or behind SSO") {
            Cause::Html
        } else if has("could not connect") || has("TLS failure") || has("(not followed)") {
            Cause::Unreachable
        } else if has("429 Too Many Requests") {
            Cause::RateLimited
        } else {
            Cause::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_of_a_reason_the_collector_wrote() {
        for (reason, cause) in [
            (
                "401 Unauthorized: User Not Authenticated",
                Cause::Credentials,
            ),
            ("OAuth token request failed: 401", Cause::Credentials),
            ("403 Forbidden: Insufficient rights", Cause::Acl),
            ("404 Not Found: No Record found", Cause::Acl),
            ("3 of 40 rows hidden by ACLs", Cause::Acl),
            ("timed out after 10s, 5 attempts", Cause::Timeout),
            (
                "answered with an HTML page: the instance may be hibernating or behind SSO",
                Cause::Html,
            ),
            ("could not connect: connection refused", Cause::Unreachable),
            (
                "302 redirect to sso.example.com (not followed)",
                Cause::Unreachable,
            ),
            ("429 Too Many Requests after 5 attempts", Cause::RateLimited),
            (
                "not read: the run stopped because dev could not be read",
                Cause::NotRead,
            ),
            ("malformed paging: loop", Cause::Other),
        ] {
            assert_eq!(Cause::of_reason(reason), cause, "{reason}");
        }
    }
}
