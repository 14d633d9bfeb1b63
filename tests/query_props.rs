//! Property tests of the encoded-query handling in `preclone::query`: on any input (arbitrary
//! text, and conditions built from the tokens that matter: `^`, `^NQ`, `^EQ`, `^OR`, `,`, line
//! breaks, dot-walks) nothing panics, restriction keeps every `^NQ` group restricted and adds no
//! group, splitting round-trips, and `IN` lists (one field, or several ORed into shared requests)
//! keep every value, in order, within the budget; a condition restricted for evaluation stays
//! within the budget whatever its number of `^NQ` groups, or is refused as too long.

// Tests may print (skips, regenerated files); the library may not (clippy.toml).
#![allow(clippy::disallowed_macros)]

use preclone::query::{
    encoded_len, fields, in_chunks, is_dot_walked, is_sys_id, or_chunks, restrict,
    restricted_chunks, split_nq, strip_eq, MAX_QUERY_BYTES,
};
use proptest::prelude::*;

/// Pieces that make encoded queries interesting: separators, markers, dot-walks, operators,
/// blanks, non-Latin text and fragments of the markers themselves.
const TOKENS: &[&str] = &[
    "^",
    "^NQ",
    "NQ",
    "^EQ",
    "EQ",
    "^OR",
    "OR",
    "^N",
    "Q",
    "N",
    "a=1",
    "roles=mid_server",
    "user.roles=mid_server",
    "user.user_nameSTARTSWITHmid.",
    "active!=false",
    "sys_idIN",
    "0123456789abcdef0123456789abcdef",
    ",",
    "\n",
    " ",
    "\t",
    "\u{a0}",
    "=",
    "ORDERBYname",
    "'",
    "\"",
    "<b>",
    "мид",
    "ミッド",
    "=cmd|' /C calc'!A0",
];

/// A condition made of interesting tokens, or arbitrary text.
fn condition() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(TOKENS), 0..14).prop_map(|t| t.concat()),
        any::<String>(),
        "[a-z_.]{1,12}(=|!=|IN|LIKE|STARTSWITH)[a-z0-9_,.]{0,12}(\\^(OR|NQ)?[a-z_.]{1,8}=[a-z0-9]{0,6}){0,4}(\\^EQ)?",
    ]
}

/// A restriction term as collect builds it: a reference field and a list of sys_ids.
fn term() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["sys_id", "user", "group", "role", "contains"][..]),
        prop::collection::vec("[0-9a-f]{32}", 1..6),
    )
        .prop_map(|(f, ids)| format!("{f}IN{}", ids.join(",")))
}

/// Values that may stand in an `IN` list: not empty, no `,`, `^` or line break.
fn safe_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{32}",
        "[a-z.]{1,20}",
        "[^,^\r\n]{1,40}",
        "[мидサーバー]{1,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn nothing_panics_on_any_input(c in condition(), t in any::<String>(), field in any::<String>(),
                                   values in prop::collection::vec(any::<String>(), 0..8),
                                   budget in 0usize..10_000) {
        let _ = strip_eq(&c);
        let _ = split_nq(&c);
        let _ = restrict(&c, &t);
        let _ = fields(&c);
        let _ = is_dot_walked(&c);
        let _ = in_chunks(&field, &values, budget);
        let _ = or_chunks(&[(field.as_str(), &values), ("name", &values)], budget);
    }

    #[test]
    fn restrict_keeps_the_groups_and_restricts_every_one(c in condition(), t in term()) {
        let restricted = restrict(&c, &t);
        let groups: Vec<&str> = restricted.split("^NQ").collect();
        prop_assert_eq!(groups.len(), split_nq(&c).len(), "restricted: {:?}", restricted);
        let suffix = format!("^{t}");
        for g in &groups {
            prop_assert!(
                *g == t || g.ends_with(&suffix),
                "group {:?} of {:?} is not restricted to {:?}", g, restricted, t
            );
        }
        // Restricting again keeps the group count: nothing leaks into a new group.
        prop_assert_eq!(restrict(&restricted, &t).split("^NQ").count(), groups.len());
    }

    #[test]
    fn restrict_keeps_what_each_group_said(c in condition(), t in term()) {
        let restricted = restrict(&c, &t);
        let suffix = format!("^{t}");
        for (original, now) in split_nq(&c).iter().zip(restricted.split("^NQ")) {
            let kept = now.strip_suffix(&suffix).unwrap_or("");
            prop_assert_eq!(kept, original.trim_matches('^'));
        }
    }

    #[test]
    fn splitting_and_rejoining_round_trips(c in condition()) {
        prop_assert_eq!(split_nq(&c).join("^NQ"), strip_eq(&c));
        prop_assert!(!split_nq(&c).is_empty());
    }

    #[test]
    fn strip_eq_is_idempotent_and_leaves_no_end_marker(c in condition()) {
        let s = strip_eq(&c);
        prop_assert_eq!(strip_eq(s), s);
        prop_assert!(!s.ends_with("^EQ"), "{:?} -> {:?}", c, s);
        prop_assert!(c.contains(s));
    }

    #[test]
    fn fields_are_lower_case_names_found_in_the_condition(c in condition()) {
        let found = fields(&c);
        for f in &found {
            prop_assert!(!f.is_empty());
            prop_assert!(f.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'), "{:?}", f);
            prop_assert!(c.contains(f));
        }
        prop_assert_eq!(is_dot_walked(&c), found.iter().any(|f| f.contains('.')));
    }

    #[test]
    fn a_dot_walk_is_found_in_any_group(c in condition(), field in "[a-z_]{1,8}\\.[a-z_]{1,8}") {
        let with = format!("{c}^NQ{field}=x");
        prop_assert!(is_dot_walked(&with), "{:?}", with);
    }

    #[test]
    fn in_chunks_keep_every_value_in_order_within_the_budget(
        field in prop::sample::select(&["sys_id", "user", "user.user_name", "name"][..]),
        values in prop::collection::vec(safe_value(), 0..120),
        budget in 60usize..4000,
    ) {
        let prefix = format!("{field}IN");
        let chunks = in_chunks(field, &values, budget);
        let mut back: Vec<String> = Vec::new();
        for chunk in &chunks {
            let list = chunk.strip_prefix(&prefix);
            prop_assert!(list.is_some(), "{:?} lacks the prefix", chunk);
            let parts: Vec<String> = list.unwrap_or("").split(',').map(str::to_string).collect();
            if encoded_len(chunk) > budget {
                // Only a value that does not fit on its own may exceed the budget, alone.
                prop_assert_eq!(parts.len(), 1, "an over-budget chunk holds several values");
                prop_assert!(encoded_len(&prefix) + encoded_len(&parts[0]) > budget);
            }
            back.extend(parts);
        }
        prop_assert_eq!(&back, &values);
        if values.is_empty() {
            prop_assert!(chunks.is_empty());
        }
    }

    #[test]
    fn sys_id_chunks_stay_within_the_budget(
        ids in prop::collection::vec("[0-9a-f]{32}", 1..400),
        budget in 100usize..8000,
    ) {
        let chunks = in_chunks("sys_id", &ids, budget);
        for chunk in &chunks {
            prop_assert!(encoded_len(chunk) <= budget, "{} > {}", encoded_len(chunk), budget);
            let list = chunk.strip_prefix("sys_idIN").unwrap_or("");
            prop_assert!(list.split(',').all(is_sys_id));
        }
        prop_assert_eq!(chunks.iter().map(|c| c.matches(',').count() + 1).sum::<usize>(), ids.len());
    }

    #[test]
    fn or_chunks_keep_every_value_of_every_list_in_order_within_the_budget(
        lists in prop::collection::vec(prop::collection::vec(safe_value(), 0..60), 0..4),
        budget in 60usize..4000,
    ) {
        let names = ["sys_id", "user_name", "user.user_name", "name"];
        let terms: Vec<(&str, &Vec<String>)> = names.iter().copied().zip(&lists).collect();
        let chunks = or_chunks(&terms, budget);
        // Each chunk is `<field>IN<list>` terms joined with `^OR`, the fields in the order given.
        let mut back: Vec<(String, String)> = Vec::new();
        for chunk in &chunks {
            let mut values = 0;
            for term in chunk.split("^OR") {
                let field = names.iter().find(|f| term.starts_with(&format!("{f}IN")));
                prop_assert!(field.is_some(), "{:?} in {:?} names no field", term, chunk);
                let field = field.copied().unwrap_or_default();
                for v in term[field.len() + 2..].split(',') {
                    back.push((field.to_string(), v.to_string()));
                    values += 1;
                }
            }
            if encoded_len(chunk) > budget {
                // Only a value that does not fit on its own may exceed the budget, alone.
                prop_assert_eq!(values, 1, "an over-budget chunk holds several values: {:?}", chunk);
            }
        }
        let expected: Vec<(String, String)> = terms
            .iter()
            .flat_map(|(f, vs)| vs.iter().map(move |v| (f.to_string(), v.clone())))
            .collect();
        prop_assert_eq!(back, expected);
        // Greedy: no chunk had room for the first value of the next one (a `,` and the value
        // when it continues the same list, else `^OR`, the field's `IN` and the value).
        let field_of = |term: &str| names.iter().copied().find(|f| term.starts_with(&format!("{f}IN")));
        for pair in chunks.windows(2) {
            let last = pair[0].rsplit("^OR").next().and_then(field_of);
            let next = pair[1].split("^OR").next().unwrap_or("");
            let field = field_of(next).unwrap_or_default();
            let first = next[field.len() + 2..].split(',').next().unwrap_or("");
            let add = if last == Some(field) {
                3 + encoded_len(first)
            } else {
                encoded_len("^OR") + encoded_len(&format!("{field}IN")) + encoded_len(first)
            };
            prop_assert!(
                encoded_len(&pair[0]) + add > budget,
                "{:?} had room for {:?}", pair[0], first
            );
        }
    }

    #[test]
    fn in_chunks_is_or_chunks_of_one_list(
        field in prop::sample::select(&["sys_id", "user", "name"][..]),
        values in prop::collection::vec(safe_value(), 0..80),
        budget in 0usize..4000,
    ) {
        prop_assert_eq!(in_chunks(field, &values, budget), or_chunks(&[(field, &values)], budget));
    }

    #[test]
    fn restricted_conditions_stay_within_the_budget_in_every_group(
        parts in prop::collection::vec(condition(), 1..40),
        ids in prop::collection::vec("[0-9a-f]{32}", 0..300),
        field in prop::sample::select(&["sys_id", "user", "group", "role"][..]),
        budget in prop_oneof![Just(MAX_QUERY_BYTES), 100usize..8000],
    ) {
        // Many `^NQ` groups, each of them anything.
        let c = parts.join("^NQ");
        let groups = split_nq(&c).len();
        match restricted_chunks(&c, field, &ids, budget) {
            Ok(queries) => {
                prop_assert_eq!(queries.is_empty(), ids.is_empty());
                let mut back: Vec<String> = Vec::new();
                let prefix = format!("{field}IN");
                for q in &queries {
                    prop_assert!(encoded_len(q) <= budget, "{} > {}: {:?}", encoded_len(q), budget, q);
                    let restricted: Vec<&str> = q.split("^NQ").collect();
                    prop_assert_eq!(restricted.len(), groups);
                    let term = restricted[0].rsplit('^').next().unwrap_or("");
                    prop_assert!(term.starts_with(&prefix), "{:?}", q);
                    let suffix = format!("^{term}");
                    for g in &restricted {
                        prop_assert!(*g == term || g.ends_with(&suffix), "{:?} of {:?}", g, q);
                    }
                    back.extend(term[prefix.len()..].split(',').map(str::to_string));
                }
                prop_assert_eq!(back, ids);
            }
            Err(e) => {
                // Refused only when one id in every group would not fit.
                prop_assert!(!ids.is_empty());
                let one = restrict(&c, &format!("{field}IN{}", ids[0]));
                prop_assert!(encoded_len(&one) > budget, "refused {:?} although {} <= {}: {}", c, encoded_len(&one), budget, e);
            }
        }
    }
}
