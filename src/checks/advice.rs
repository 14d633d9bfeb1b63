//! The preservers fix texts recommend: the seed article's three (PRODUCT.md section 4), each
//! said with the one low finding it costs. A condition that another check fails at medium or
//! above, or a field the table lacks, is never recommended.

/// The seed article's condition for a preserver on `table`, where it has one.
pub(crate) fn seed_condition(table: &str) -> Option<&'static str> {
    match table {
        "sys_user" => Some("roles=mid_server"),
        "sys_user_has_role" | "sys_user_grmember" => Some("user.roles=mid_server"),
        _ => None,
    }
}

/// What a dot-walked recommendation costs, said beside it.
pub(crate) const DOT_WALK_NOTE: &str =
    "the seed article's; its dot-walk costs one low preserver-dot-walked";

/// `a preserver on TABLE with the condition CONDITION` (with the dot-walk note where it
/// dot-walks), for the tables the seed article covers.
pub(crate) fn preserver(table: &str) -> Option<String> {
    let condition = seed_condition(table)?;
    Some(if crate::query::is_dot_walked(condition) {
        format!("a preserver on {table} with the condition {condition} ({DOT_WALK_NOTE})")
    } else {
        format!("a preserver on {table} with the condition {condition} (the seed article's)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_conditions_name_fields_their_tables_have() {
        assert_eq!(seed_condition("sys_user"), Some("roles=mid_server"));
        for t in ["sys_user_has_role", "sys_user_grmember"] {
            let p = preserver(t).unwrap_or_default();
            assert!(p.contains("user.roles=mid_server") && p.contains("preserver-dot-walked"));
        }
        assert!(!preserver("sys_user")
            .unwrap_or_default()
            .contains("dot-walk"));
        assert_eq!(preserver("sys_user_group"), None);
    }
}
