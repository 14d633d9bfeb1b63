//! Encoded-query handling: split `^NQ` groups, restrict every group to given rows, detect
//! dot-walks, and build `IN` lists that are safe and keep URLs under 8 KB.

use thiserror::Error;

/// The longest `sysparm_query` value preclone builds, in bytes once percent-encoded, so the whole
/// URL (base, table, fields, paging) stays under 8 KB.
pub const MAX_QUERY_BYTES: usize = 6000;

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

/// Length of `s` once percent-encoded in a query string (worst case: every byte that is not
/// unreserved takes three).
pub fn encoded_len(s: &str) -> usize {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                1
            } else {
                3
            }
        })
        .sum()
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
                3 + v_len
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
                len += 3;
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
