use super::*;

#[test]
fn an_unread_instance_has_every_fact_unreadable_naming_a_table_read() {
    let e = InstanceEvidence::unread("prod", "https://p", InstanceRole::Source, "down");
    let json = serde_json::to_value(&e).expect("serialises");
    let mut errors = Vec::new();
    fn walk<'v>(v: &'v serde_json::Value, out: &mut Vec<&'v serde_json::Value>) {
        match v {
            serde_json::Value::Object(m) if m.get("status").is_some_and(|s| s == "ok") => {
                panic!("a fact of an unread instance is ok: {v}")
            }
            serde_json::Value::Object(m) if m.get("status").is_some_and(|s| s == "error") => {
                out.push(v)
            }
            serde_json::Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&json, &mut errors);
    // The production property, the build, sixteen lists, the seven of the clone setup, the
    // validation override and the credentials.
    assert_eq!(errors.len(), 27, "{json}");
    for f in errors {
        assert_eq!(f["reason"], "down");
        let table = f["table"].as_str().unwrap_or_default();
        assert!(tables::ALL.iter().any(|t| t.name == table), "{table}");
    }
    let target = InstanceEvidence::unread("dev", "https://d", InstanceRole::Target, "down");
    assert!(target.clone.is_none());
    let empty = InstanceEvidence::empty("dev", "https://d", InstanceRole::Target);
    assert_eq!(empty.users, Fact::ok(vec![]));
    // A missing production property is not "non-production".
    assert_eq!(
        empty.production.resolve(),
        (None, ProductionOrigin::Unknown)
    );
}

#[test]
fn booleans_are_case_insensitive_and_anything_else_unknown() {
    for (text, value) in [
        ("true", Some(true)),
        ("True", Some(true)),
        (" TRUE ", Some(true)),
        ("1", Some(true)),
        ("false", Some(false)),
        ("False", Some(false)),
        ("0", Some(false)),
        ("", None),
        ("yes", None),
        ("t", None),
        ("validating", None),
    ] {
        assert_eq!(parse_bool(text), value, "{text:?}");
    }
    let production = |config, property: Fact<Option<String>>| Production { config, property };
    let said = |v: &str| Fact::ok(Some(v.to_string()));
    assert_eq!(
        production(None, said("True")).resolve(),
        (Some(true), ProductionOrigin::Property)
    );
    assert_eq!(
        production(None, said("false")).resolve(),
        (Some(false), ProductionOrigin::Property)
    );
    for unknown in [
        Fact::ok(None),
        said("yes"),
        Fact::error("sys_properties", "403"),
    ] {
        let p = production(None, unknown);
        assert_eq!(p.resolve(), (None, ProductionOrigin::Unknown));
        assert!(p.unknown_because().is_some());
        let p = Production {
            config: Some(false),
            ..p
        };
        assert_eq!(p.resolve(), (Some(false), ProductionOrigin::Config));
        assert!(p.unknown_because().is_none());
    }
}
