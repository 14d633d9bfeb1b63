//! The `rel="next"` offset of a `Link` header. Only the offset is taken: the URL itself is never
//! followed (it could name another host).

use reqwest::header::{HeaderMap, LINK};

/// What the `Link` header said about the next page.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum LinkNext {
    Absent,
    NoNext,
    Next(u64),
}

/// The `rel="next"` offset of the `Link` headers; `base` resolves a relative URL.
pub(super) fn next_from_link(headers: &HeaderMap, base: &str) -> Result<LinkNext, String> {
    let values: Vec<&str> = headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return Ok(LinkNext::Absent);
    }
    let joined = values.join(",");
    let mut rest = joined.as_str();
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|c| c + open) else {
            return Err("a Link header is not closed with '>'".to_string());
        };
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let params = after[..params_end].to_ascii_lowercase();
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.strip_prefix("rel=")
                .map(|v| v.trim_matches('"').split_whitespace().any(|r| r == "next"))
                .unwrap_or(false)
        });
        if is_next {
            let url = match url::Url::parse(target) {
                Ok(u) => u,
                Err(_) => url::Url::parse(base)
                    .and_then(|b| b.join(target))
                    .map_err(|_| "the Link header's next URL cannot be read".to_string())?,
            };
            let offset = url
                .query_pairs()
                .find(|(k, _)| k == "sysparm_offset")
                .map(|(_, v)| v.into_owned())
                .ok_or_else(|| "the Link header's next URL has no sysparm_offset".to_string())?;
            let n: i64 = offset
                .trim()
                .parse()
                .map_err(|_| format!("the Link header's next offset '{offset}' is not a number"))?;
            return u64::try_from(n)
                .map(LinkNext::Next)
                .map_err(|_| format!("the Link header's next offset {n} is negative"));
        }
        rest = &after[params_end..];
    }
    Ok(LinkNext::NoNext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn link(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(LINK, HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn link_next_takes_only_the_offset() {
        let real = "<https://dev223454.service-now.com/api/now/table/sys_user?sysparm_limit=10&sysparm_offset=0>;rel=\"first\",<https://dev223454.service-now.com/api/now/table/sys_user?sysparm_limit=10&sysparm_offset=10>;rel=\"next\",<https://dev223454.service-now.com/api/now/table/sys_user?sysparm_limit=10&sysparm_offset=620>;rel=\"last\"";
        assert_eq!(
            next_from_link(&link(real), "https://x"),
            Ok(LinkNext::Next(10))
        );
        let last = "<https://h/api/now/table/t?sysparm_offset=-1>;rel=\"prev\", <https://h/api/now/table/t?sysparm_offset=0>; rel=\"first\"";
        assert_eq!(
            next_from_link(&link(last), "https://x"),
            Ok(LinkNext::NoNext)
        );
        assert_eq!(
            next_from_link(&HeaderMap::new(), "https://x"),
            Ok(LinkNext::Absent)
        );
        let bad = "<https://h/api/now/table/t?sysparm_offset=-5>;rel=\"next\"";
        assert!(next_from_link(&link(bad), "https://x").is_err());
        let relative = "</api/now/table/t?sysparm_query=a%3Db,c&sysparm_offset=30>;rel=next";
        assert_eq!(
            next_from_link(&link(relative), "https://x"),
            Ok(LinkNext::Next(30))
        );
    }
}
