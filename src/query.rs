//! Encoded-query handling: split `^NQ` groups, restrict every group to given rows, detect
//! dot-walks, and build `IN` lists that are safe and keep URLs under 8 KB.

use thiserror::Error;

/// The longest `sysparm_query` value preclone builds, in bytes once percent-encoded, so the whole
/// URL stays under 8 KB whatever else it holds: a host name of 253 characters with a port, the
/// longest table name and field list of [`crate::tables::ALL`], the paging parameters (the
/// client's test `a_query_within_the_budget_makes_a_url_under_8_kb` checks it).
pub const MAX_QUERY_BYTES: usize = 7500;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueryError {
    #[error(
        "{value:?} is not a sys_id (32 hexadecimal characters); refusing to put it into a query"
    )]
    NotSysId { value: String },
}

/// The condition without surrounding blanks and without a trailing `^EQ` (the end marker the
/// condition builder appends).
pub fn strip_eq(condition: &str) -> &str {
    let mut c = condition.trim();
    while let Some(rest) = c.strip_suffix("^EQ") {
        c = rest.trim_end();
    }
    c
}

/// The `^NQ` groups of a condition (an OR of whole queries). An empty condition has one empty group.
pub fn split_nq(condition: &str) -> Vec<&str> {
    strip_eq(condition).split("^NQ").collect()
}

/// The condition restricted to the rows `term` selects: `term` is ANDed into **every** `^NQ`
/// group, so no group can match rows outside it. An empty condition (or group) becomes `term`.
pub fn restrict(condition: &str, term: &str) -> String {
    split_nq(condition)
        .into_iter()
        .map(|group| {
            let g = group.trim_matches('^');
            if g.is_empty() {
                term.to_string()
            } else {
                format!("{g}^{term}")
            }
        })
        .collect::<Vec<_>>()
        .join("^NQ")
}

/// The field names a condition tests (`user.roles` in `user.roles=mid_server`). ServiceNow field
/// names are lower case, operators upper case, so the field is the leading run of `[a-z0-9_.]`.
/// Terms that start otherwise (`ORDERBYname`, `RLQUERY...`) name no field.
pub fn fields(condition: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for group in split_nq(condition) {
        for and_term in group.split('^') {
            let term = and_term.strip_prefix("OR").unwrap_or(and_term);
            let end = term
                .char_indices()
                .find(|(_, c)| {
                    !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '.')
                })
                .map(|(i, _)| i)
                .unwrap_or(term.len());
            // A bare lower-case word with no operator after it is not a term.
            if end > 0 && end < term.len() {
                out.push(&term[..end]);
            }
        }
    }
    out
}

/// Whether any term of the condition walks through a reference (`user.roles=...`): the legacy
/// clone engine cannot apply such a preserver.
pub fn is_dot_walked(condition: &str) -> bool {
    fields(condition).iter().any(|f| f.contains('.'))
}

/// Whether `s` is a sys_id: 32 hexadecimal characters.
pub fn is_sys_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks every value is a sys_id before it goes into an `IN` list.
pub fn check_sys_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<(), QueryError> {
    for id in ids {
        if !is_sys_id(id) {
            return Err(QueryError::NotSysId {
                value: id.to_string(),
            });
        }
    }
    Ok(())
}

/// A value that can stand in an `IN` list: not empty, no `^` (AND), no `,` (list separator), no
/// line break.
pub fn safe_in_list(value: &str) -> bool {
    !value.is_empty() && !value.contains(['^', ',', '\n', '\r'])
}

/// A value that can stand after `field=` on its own: not empty, no `^`, no line break.
pub fn safe_equals(value: &str) -> bool {
    !value.is_empty() && !value.contains(['^', '\n', '\r'])
}

/// Length of `s` once percent-encoded in a query string, as the client encodes it: letters,
/// digits, `-`, `_`, `.` and `,` as they are, every other byte in three.
pub fn encoded_len(s: &str) -> usize {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b',') {
                1
            } else {
                3
            }
        })
        .sum()
}

/// Marks the reason of a condition that cannot be evaluated within [`MAX_QUERY_BYTES`].
pub const TOO_LONG: &str = "too long to evaluate in URLs under 8 KB";

/// A condition too long to restrict: even one value per `^NQ` group (or the condition alone)
/// does not fit the budget.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{TOO_LONG}: {groups} ^NQ group(s) in {len} encoded bytes leave {room} of the {budget} bytes a query may take, and restricting every group to one row needs {needed}")]
pub struct TooLong {
    pub groups: usize,
    /// Encoded length of the condition restricted with an empty term.
    pub len: usize,
    pub budget: usize,
    /// Bytes left for the restriction terms, all groups together.
    pub room: usize,
    /// Bytes one value's term takes in every group.
    pub needed: usize,
}

/// The condition (`^EQ` removed) as a query on its own, when it fits `budget` encoded bytes.
pub fn fitting(condition: &str, budget: usize) -> Result<&str, TooLong> {
    let c = strip_eq(condition);
    let len = encoded_len(c);
    if len <= budget {
        Ok(c)
    } else {
        Err(TooLong {
            groups: split_nq(c).len(),
            len,
            budget,
            room: 0,
            needed: len - budget,
        })
    }
}

/// The condition restricted to the rows whose `field` is in `values`, as queries of at most
/// `budget` encoded bytes each: the values split into `FIELDIN` lists ([`in_chunks`]), each
/// ANDed into **every** `^NQ` group ([`restrict`]), so the list's bytes count once per group.
/// `Err` when even one value per group does not fit (no query is then worth sending). No query
/// when `values` is empty. Values must already be safe in a list.
pub fn restricted_chunks<'v>(
    condition: &str,
    field: &str,
    values: impl IntoIterator<Item = &'v String> + Copy,
    budget: usize,
) -> Result<Vec<String>, TooLong> {
    restricted_any(condition, &[(field, values)], budget)
}

/// The bytes a restriction may take in each `^NQ` group of `condition` for its queries to stay
/// within `budget` (the restriction is ANDed into every group, so it counts once per group).
pub fn room_per_group(condition: &str, budget: usize) -> usize {
    let groups = split_nq(condition).len();
    budget.saturating_sub(encoded_len(&restrict(condition, ""))) / groups
}

/// [`restricted_chunks`] to the rows matching any of `terms` (`<field>IN<values>` lists ORed
/// together as [`or_chunks`] builds them): `a^b^ORc` is `a AND (b OR c)`, so the `^OR` chain of
/// the restriction, ANDed into each group, cannot widen it. No query when every list is empty.
pub fn restricted_any<'v, V>(
    condition: &str,
    terms: &[(&str, V)],
    budget: usize,
) -> Result<Vec<String>, TooLong>
where
    V: IntoIterator<Item = &'v String> + Copy,
{
    let groups = split_nq(condition).len();
    // `restrict` adds the term once per group to what it builds with an empty term.
    let len = encoded_len(&restrict(condition, ""));
    let room = budget.saturating_sub(len);
    let per_group = room / groups;
    let widest = terms
        .iter()
        .flat_map(|(field, values)| {
            let prefix = encoded_len(&format!("{field}IN"));
            values.into_iter().map(move |v| prefix + encoded_len(v))
        })
        .max();
    let Some(widest) = widest else {
        return Ok(Vec::new());
    };
    if widest > per_group {
        return Err(TooLong {
            groups,
            len,
            budget,
            room,
            needed: widest * groups,
        });
    }
    Ok(or_chunks(terms, per_group)
        .into_iter()
        .map(|term| restrict(condition, &term))
        .collect())
}

/// Splits `values` into `FIELDIN a,b,c` terms whose encoded length stays within `budget` bytes
/// (at least one value per term). Values must already be safe (`safe_in_list` or sys_ids). The
/// one-term case of [`or_chunks`].
pub fn in_chunks(field: &str, values: &[String], budget: usize) -> Vec<String> {
    or_chunks(&[(field, values)], budget)
}

/// `<field>IN<values>` lists ORed into as few queries as fit in `budget` bytes (encoded): one
/// list fills a query, and the next list starts in the room left (`^OR<field>IN...`), so short
/// lists of ids and names share a request. Every query holds at least one value; one that does
/// not fit on its own stands alone. Lists that are empty add nothing, and values must already be
/// safe in a list (`safe_in_list` or sys_ids).
pub fn or_chunks<'v, V>(terms: &[(&str, V)], budget: usize) -> Vec<String>
where
    V: IntoIterator<Item = &'v String> + Copy,
{
    let or_len = encoded_len("^OR");
    let comma = encoded_len(",");
    let mut out = Vec::new();
    let mut current = String::new();
    let mut len = 0;
    for (field, values) in terms {
        let prefix = format!("{field}IN");
        let prefix_len = encoded_len(&prefix);
        let mut open = false;
        for v in *values {
            let v_len = encoded_len(v);
            let add = if open {
                comma + v_len
            } else if current.is_empty() {
                prefix_len + v_len
            } else {
                or_len + prefix_len + v_len
            };
            if !current.is_empty() && len + add > budget {
                out.push(std::mem::take(&mut current));
                len = 0;
                open = false;
            }
            if open {
                current.push(',');
                len += comma;
            } else {
                if !current.is_empty() {
                    current.push_str("^OR");
                    len += or_len;
                }
                current.push_str(&prefix);
                len += prefix_len;
                open = true;
            }
            current.push_str(v);
            len += v_len;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrict_adds_the_term_to_every_group() {
        assert_eq!(
            restrict("a=1^b=2^NQc=3^EQ", "sys_idINx"),
            "a=1^b=2^sys_idINx^NQc=3^sys_idINx"
        );
        assert_eq!(restrict("", "sys_idINx"), "sys_idINx");
        assert_eq!(restrict("^EQ", "sys_idINx"), "sys_idINx");
    }

    #[test]
    fn restriction_is_budgeted_once_per_nq_group() {
        let ids: Vec<String> = (0..300).map(|i| format!("{i:032x}")).collect();
        let groups: Vec<String> = (0..20)
            .map(|i| format!("user_name=mid.{i}^active=true"))
            .collect();
        let condition = format!("{}^EQ", groups.join("^NQ"));
        let queries = restricted_chunks(&condition, "sys_id", &ids, MAX_QUERY_BYTES).expect("fits");
        assert!(queries.len() > 1);
        let mut back = Vec::new();
        for q in &queries {
            assert!(encoded_len(q) <= MAX_QUERY_BYTES, "{}", encoded_len(q));
            let parts: Vec<&str> = q.split("^NQ").collect();
            assert_eq!(parts.len(), 20);
            let term = parts[0].rsplit('^').next().unwrap_or("");
            assert!(
                parts.iter().all(|p| p.ends_with(&format!("^{term}"))),
                "{q}"
            );
            back.extend(
                term.trim_start_matches("sys_idIN")
                    .split(',')
                    .map(str::to_string),
            );
        }
        assert_eq!(back, ids);
        // An empty condition is one group: the term alone.
        assert_eq!(
            restricted_chunks("", "sys_id", &ids[..1].to_vec(), MAX_QUERY_BYTES),
            Ok(vec![format!("sys_idIN{}", ids[0])])
        );
        assert_eq!(
            restricted_chunks(&condition, "sys_id", &Vec::new(), 10),
            Ok(vec![])
        );
    }

    #[test]
    fn a_restriction_to_ids_or_names_is_anded_into_every_group_as_one_or_chain() {
        let ids: Vec<String> = (0..300).map(|i| format!("{i:032x}")).collect();
        let names: Vec<String> = (0..300).map(|i| format!("mid.{i}")).collect();
        let condition = "roles=mid_server^NQactive=true^ORlocked_out=false";
        let terms = [("sys_id", &ids), ("user_name", &names)];
        let queries = restricted_any(condition, &terms, 2000).expect("fits");
        assert!(queries.len() > 2);
        let (mut got_ids, mut got_names) = (Vec::new(), Vec::new());
        for q in &queries {
            assert!(encoded_len(q) <= 2000, "{q}");
            let groups = split_nq(q);
            assert_eq!(groups.len(), 2, "{q}");
            // The same restriction closes both groups, after an AND.
            let tail = groups[0]
                .strip_prefix("roles=mid_server^")
                .expect("first group");
            assert!(groups[1].ends_with(&format!("^{tail}")), "{q}");
            for term in tail.split("^OR") {
                if let Some(v) = term.strip_prefix("sys_idIN") {
                    got_ids.extend(v.split(',').map(str::to_string));
                } else if let Some(v) = term.strip_prefix("user_nameIN") {
                    got_names.extend(v.split(',').map(str::to_string));
                } else {
                    panic!("{term}");
                }
            }
        }
        got_ids.sort();
        got_names.sort();
        let mut want_names = names.clone();
        want_names.sort();
        assert_eq!((got_ids, got_names), (ids, want_names));
        let none: Vec<String> = Vec::new();
        assert_eq!(
            restricted_any(condition, &[("sys_id", &none), ("user_name", &none)], 2000),
            Ok(vec![])
        );
    }

    #[test]
    fn a_condition_with_no_room_for_one_id_per_group_is_too_long() {
        let ids = vec![format!("{:032x}", 1)];
        let groups: Vec<String> = (0..150).map(|i| format!("user_name=m{i:03}")).collect();
        let condition = groups.join("^NQ");
        assert!(fitting(&condition, MAX_QUERY_BYTES).is_ok());
        let e =
            restricted_chunks(&condition, "sys_id", &ids, MAX_QUERY_BYTES).expect_err("no room");
        assert_eq!(e.groups, 150);
        assert!(e.to_string().contains(TOO_LONG), "{e}");
        let long = "a=b^".repeat(2000);
        assert!(fitting(&long, MAX_QUERY_BYTES).is_err());
        assert!(restricted_chunks(&long, "sys_id", &ids, MAX_QUERY_BYTES).is_err());
    }

    #[test]
    fn dot_walks_are_found_in_fields_not_values() {
        assert!(is_dot_walked("user.roles=mid_server"));
        assert!(is_dot_walked("active=true^ORuser.active=true"));
        assert!(!is_dot_walked("user_nameSTARTSWITHmid."));
        assert!(!is_dot_walked("roles=mid_server^ORDERBYuser_name"));
        assert!(is_dot_walked("a=1^NQgroup.name=MID"));
    }

    #[test]
    fn chunks_respect_the_budget_and_keep_every_value() {
        let ids: Vec<String> = (0..500).map(|i| format!("{i:032x}")).collect();
        let chunks = in_chunks("sys_id", &ids, 2000);
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| encoded_len(c) <= 2000));
        let back: Vec<&str> = chunks
            .iter()
            .flat_map(|c| c.strip_prefix("sys_idIN").unwrap().split(','))
            .collect();
        assert_eq!(back.len(), 500);
        assert_eq!(back[499], ids[499]);
    }

    #[test]
    fn sys_ids_are_checked() {
        assert!(check_sys_ids(["0123456789abcdef0123456789abcdef"]).is_ok());
        assert!(check_sys_ids(["x^NQactive=true"]).is_err());
        assert!(!safe_in_list("a,b") && !safe_in_list("a^b") && safe_in_list("mid.dev"));
        assert!(safe_equals("a,b") && !safe_equals("a\nb"));
    }

    fn set(values: impl IntoIterator<Item = String>) -> std::collections::BTreeSet<String> {
        values.into_iter().collect()
    }

    /// The values of every `<field>IN` term of the chunks, in order.
    fn values_of(chunks: &[String], field: &str) -> Vec<String> {
        let prefix = format!("{field}IN");
        chunks
            .iter()
            .flat_map(|c| c.split("^OR"))
            .filter_map(|t| t.strip_prefix(&prefix))
            .flat_map(|list| list.split(','))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn short_lists_of_ids_and_names_share_one_request() {
        let ids = set((0..3).map(|i| format!("{i:032x}")));
        let names = set(["mid.dev".to_string(), "mid.test".to_string()]);
        let chunks = or_chunks(&[("sys_id", &ids), ("user_name", &names)], MAX_QUERY_BYTES);
        assert_eq!(chunks.len(), 1, "{chunks:?}");
        assert!(chunks[0].starts_with("sys_idIN"));
        assert!(chunks[0].contains("^ORuser_nameINmid.dev,mid.test"));
    }

    #[test]
    fn long_lists_fill_every_request_and_keep_every_value() {
        let ids = set((0..700).map(|i| format!("{i:032x}")));
        let names = set((0..900).map(|i| format!("mid.user.{i}")));
        let chunks = or_chunks(&[("sys_id", &ids), ("user_name", &names)], MAX_QUERY_BYTES);
        assert!(chunks.iter().all(|c| encoded_len(c) <= MAX_QUERY_BYTES));
        let total: usize = chunks.iter().map(|c| encoded_len(c)).sum();
        // Packed across the list boundary: as many requests as the bytes need (each chunk is
        // full but for less than one value), where chunking each list apart needs one more.
        assert_eq!(chunks.len(), total.div_ceil(MAX_QUERY_BYTES - 40));
        let apart = in_chunks(
            "sys_id",
            &ids.iter().cloned().collect::<Vec<_>>(),
            MAX_QUERY_BYTES,
        )
        .len()
            + in_chunks(
                "user_name",
                &names.iter().cloned().collect::<Vec<_>>(),
                MAX_QUERY_BYTES,
            )
            .len();
        assert_eq!(chunks.len() + 1, apart);
        assert_eq!(
            values_of(&chunks, "sys_id"),
            ids.into_iter().collect::<Vec<_>>()
        );
        assert_eq!(
            values_of(&chunks, "user_name"),
            names.into_iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn empty_lists_make_no_request() {
        let none = std::collections::BTreeSet::new();
        assert!(or_chunks(&[("sys_id", &none), ("name", &none)], MAX_QUERY_BYTES).is_empty());
        let one = set(["Group".to_string()]);
        assert_eq!(
            or_chunks(&[("sys_id", &none), ("name", &one)], MAX_QUERY_BYTES),
            ["nameINGroup"]
        );
    }
}
