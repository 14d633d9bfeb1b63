//! The one check of an instance URL: [`BaseUrl`]. A value of it is an instance's base URL that
//! preclone may send credentials to; nothing else builds one.

use std::fmt;
use std::str::FromStr;

/// An instance's base URL: scheme, host and port, nothing else.
///
/// `https://` is required, except `http://` to `localhost`, `127.0.0.0/8` or `[::1]`. A path
/// (other than `/`), a query, a fragment, or a user name or password is refused. The host is
/// lower-cased and a default port dropped, so `https://Acme.Service-Now.com:443/` becomes
/// `https://acme.service-now.com`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(url::Url);

/// Why a URL is not an instance's base URL. Its message is a reason to put after the key or the
/// URL; it never repeats the URL (which may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("must start with https:// (http:// is allowed only for localhost)")]
    Scheme,
    #[error("is not a valid URL ({0})")]
    Invalid(url::ParseError),
    #[error(
        "must not hold a user name or password; put credentials in auth (or in \
         PRECLONE_USERNAME / PRECLONE_PASSWORD for a bare URL)"
    )]
    Credentials,
    #[error("has no host name")]
    NoHost,
    #[error("must be the instance's base URL, without a path (drop everything after the host)")]
    Path,
    #[error("must not have a query (?...) or fragment (#...)")]
    QueryOrFragment,
}

impl BaseUrl {
    /// Checks `raw` (surrounding blanks ignored) and keeps its base.
    pub fn parse(raw: &str) -> Result<BaseUrl, UrlError> {
        let raw = raw.trim();
        let lower = raw.to_ascii_lowercase();
        if !lower.starts_with("https://") && !lower.starts_with("http://") {
            return Err(UrlError::Scheme);
        }
        let parsed = url::Url::parse(raw).map_err(UrlError::Invalid)?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(UrlError::Credentials);
        }
        let host = parsed.host().ok_or(UrlError::NoHost)?;
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            _ => return Err(UrlError::Scheme),
        }
        if parsed.path() != "/" && !parsed.path().is_empty() {
            return Err(UrlError::Path);
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(UrlError::QueryOrFragment);
        }
        Ok(BaseUrl(parsed))
    }

    /// The base URL without a trailing `/`, e.g. `https://acme.service-now.com`.
    pub fn as_str(&self) -> &str {
        let full = self.0.as_str();
        full.strip_suffix('/').unwrap_or(full)
    }

    /// The parsed URL (its path is `/`).
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The host, with `:port` when the port is not the scheme's default: what a connection
    /// error names.
    pub fn host_port(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`: the hosts plain `http://` may reach.
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

impl FromStr for BaseUrl {
    type Err = UrlError;

    fn from_str(raw: &str) -> Result<BaseUrl, UrlError> {
        BaseUrl::parse(raw)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.as_str()).finish()
    }
}

impl AsRef<str> for BaseUrl {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for BaseUrl {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for BaseUrl {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<BaseUrl> for String {
    fn from(base: BaseUrl) -> String {
        base.as_str().to_string()
    }
}

/// Checks an instance URL and returns its base URL as text; see [`BaseUrl`]. The error is a
/// reason to put after the key or URL; it never repeats the URL.
pub fn normalise_url(url: &str) -> Result<String, String> {
    BaseUrl::parse(url)
        .map(String::from)
        .map_err(|e| e.to_string())
}

/// Replaces any `user:password@` of a URL-like string with `***@`, for messages.
pub(crate) fn redact_userinfo(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_string();
    };
    let rest = &raw[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..scheme_end + 3], &rest[at..]),
        None => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_is_scheme_host_and_port() {
        let base = BaseUrl::parse(" https://Acme.Service-Now.com:443/ ").expect("valid");
        assert_eq!(base.as_str(), "https://acme.service-now.com");
        assert_eq!(base.host_port(), "acme.service-now.com");
        assert_eq!(
            format!("{base:?}"),
            "BaseUrl(\"https://acme.service-now.com\")"
        );
        let local = BaseUrl::parse("http://127.0.0.1:8080").expect("loopback");
        assert_eq!(local.to_string(), "http://127.0.0.1:8080");
        assert_eq!(local.host_port(), "127.0.0.1:8080");
        assert_eq!(
            BaseUrl::parse("http://[::1]:9000/")
                .expect("v6")
                .host_port(),
            "[::1]:9000"
        );
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let cases = [
            ("acme.service-now.com", UrlError::Scheme),
            ("ftp://acme.service-now.com", UrlError::Scheme),
            ("http://acme.service-now.com", UrlError::Scheme),
            ("http://localhost.example.com", UrlError::Scheme),
            ("https://u:p@acme.service-now.com", UrlError::Credentials),
            ("https://acme.service-now.com/nav_to.do", UrlError::Path),
            (
                "https://acme.service-now.com/?x=1",
                UrlError::QueryOrFragment,
            ),
            (
                "https://acme.service-now.com#top",
                UrlError::QueryOrFragment,
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(BaseUrl::parse(raw), Err(want), "{raw}");
        }
        assert!(matches!(
            BaseUrl::parse("https://"),
            Err(UrlError::Invalid(_))
        ));
    }

    #[test]
    fn userinfo_is_blanked_in_messages() {
        assert_eq!(
            redact_userinfo("https://admin:pw@acme.service-now.com/x@y"),
            "https://***@acme.service-now.com/x@y"
        );
        assert_eq!(redact_userinfo("no scheme@all"), "no scheme@all");
    }
}
