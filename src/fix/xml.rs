//! The records as the platform's own list export writes them (Export → XML, loaded back with
//! Import XML): `<unload unload_date="…">` holding one element per record, named after its
//! table, with `action="INSERT_OR_UPDATE"` and one child element per field, in alphabetical
//! order as an export lists them.
//!
//! Written with quick-xml: every value passes its escaping (`&`, `<`, `>`, quotes), and a
//! carriage return (and, in attributes, a tab or line break) becomes a character reference so
//! that a parser gives back the very value. A value holding a character XML 1.0 cannot carry is
//! never written: such an update is a manual step instead ([`can_carry`]).

use super::{Change, Fix, Link, PreserverFix};
use crate::evidence::Preserver;
use crate::report::junit::strip_invalid_xml_chars;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

/// The action every record carries: insert it, or update the record with its sys_id.
pub const ACTION: &str = "INSERT_OR_UPDATE";

/// Whether every value of the preserver's record can be written to XML 1.0 as it is.
pub fn can_carry(p: &Preserver) -> bool {
    preserver_fields(p, None, "").iter().all(|(_, v, attr)| {
        strip_invalid_xml_chars(v) == *v
            && attr
                .as_deref()
                .is_none_or(|a| strip_invalid_xml_chars(a) == a)
    })
}

/// A field: its element name, its value and a `display_value` attribute where it has one.
type Field = (&'static str, String, Option<String>);

fn flag(v: Option<bool>) -> Option<String> {
    v.map(|b| b.to_string())
}

/// The fields of a `clone_data_preserver` record: the table's own and the `sys_metadata`
/// fields as read (or, for a new record, as a new global one has them), its creation time, and
/// `sys_updated_on` = `stamp`. A flag that was never read is left out rather than guessed.
/// `change`: `Some(Change::Create)` adds `sys_mod_count` 0.
fn preserver_fields(p: &Preserver, change: Option<&Change>, stamp: &str) -> Vec<Field> {
    let mut fields: Vec<Field> = vec![
        ("condition", p.condition.clone(), None),
        ("name", p.name.clone(), None),
        ("sys_created_on", p.created_on.clone(), None),
        ("sys_id", p.sys_id.clone(), None),
        ("sys_updated_on", stamp.to_string(), None),
        ("table", p.table.clone(), None),
    ];
    for (name, value) in [
        ("default", flag(p.default)),
        ("include_in_system_clone", flag(p.include_in_system_clone)),
        ("theme", flag(p.theme)),
    ] {
        if let Some(v) = value {
            fields.push((name, v, None));
        }
    }
    for name in [
        "sys_class_name",
        "sys_name",
        "sys_package",
        "sys_policy",
        "sys_scope",
        "sys_update_name",
    ] {
        if let Some(v) = p.metadata.get(name) {
            fields.push((name, v.clone(), None));
        }
    }
    if change == Some(&Change::Create) {
        fields.push(("sys_mod_count", "0".to_string(), None));
    }
    fields.sort_by_key(|f| f.0);
    fields
}

/// The fields of a new `clone_profile_preservers` record: the profile and the preserver it links
/// (by sys_id, their names as `display_value`), and the `sys_metadata` fields of a new global
/// record.
fn link_fields(l: &Link, p: &Preserver, stamp: &str) -> Vec<Field> {
    let named = |s: &str| Some(strip_invalid_xml_chars(s)).filter(|s| !s.is_empty());
    vec![
        ("preserver", p.sys_id.clone(), named(&p.name)),
        ("profile", l.profile.clone(), named(&l.profile_name)),
        ("sys_class_name", "clone_profile_preservers".into(), None),
        ("sys_created_on", stamp.into(), None),
        ("sys_id", l.sys_id.clone(), None),
        ("sys_mod_count", "0".into(), None),
        ("sys_package", "global".into(), None),
        ("sys_policy", String::new(), None),
        ("sys_scope", "global".into(), None),
        (
            "sys_update_name",
            format!("clone_profile_preservers_{}", l.sys_id),
            None,
        ),
        ("sys_updated_on", stamp.into(), None),
    ]
}

/// Escapes text content: quick-xml's escaping, and `\r` as a reference (a parser would fold a
/// bare one into `\n`).
fn text(s: &str) -> String {
    quick_xml::escape::escape(s).replace('\r', "&#13;")
}

/// Escapes an attribute value: as text, and tabs and line breaks as references (a parser would
/// turn them into blanks).
fn attribute(s: &str) -> String {
    text(s).replace('\t', "&#9;").replace('\n', "&#10;")
}

fn record(w: &mut Writer<Vec<u8>>, table: &str, fields: &[Field]) -> std::io::Result<()> {
    let mut start = BytesStart::new(table);
    start.push_attribute(("action", ACTION));
    w.write_event(Event::Start(start))?;
    for (name, value, display) in fields {
        let mut el = BytesStart::new(*name);
        if let Some(d) = display {
            let escaped = attribute(d);
            el.push_attribute((b"display_value".as_slice(), escaped.as_bytes()));
        }
        if value.is_empty() {
            w.write_event(Event::Empty(el))?;
        } else {
            w.write_event(Event::Start(el))?;
            w.write_event(Event::Text(BytesText::from_escaped(text(value))))?;
            w.write_event(Event::End(BytesEnd::new(*name)))?;
        }
    }
    w.write_event(Event::End(BytesEnd::new(table)))
}

/// The XML file of `fix`: the preserver records first (new ones and updates), then the links.
pub fn render(fix: &Fix) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let written: std::io::Result<()> = (|| {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let mut unload = BytesStart::new("unload");
        unload.push_attribute(("unload_date", fix.stamp.as_str()));
        w.write_event(Event::Start(unload))?;
        for f in &fix.fixes {
            if let Some(change) = &f.change {
                let fields = preserver_fields(&f.preserver, Some(change), &fix.stamp);
                record(&mut w, "clone_data_preserver", &fields)?;
            }
        }
        for f in &fix.fixes {
            for l in &f.links {
                let fields = link_fields(l, &f.preserver, &fix.stamp);
                record(&mut w, "clone_profile_preservers", &fields)?;
            }
        }
        w.write_event(Event::End(BytesEnd::new("unload")))
    })();
    // Writing into a Vec cannot fail.
    debug_assert!(written.is_ok());
    let mut out = String::from_utf8(w.into_inner()).unwrap_or_default();
    out.push('\n');
    out
}

/// The element names of a written preserver record, for [`PreserverFix`] descriptions.
pub fn fields_written(f: &PreserverFix, stamp: &str) -> Vec<&'static str> {
    preserver_fields(&f.preserver, f.change.as_ref(), stamp)
        .into_iter()
        .map(|(name, _, _)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::PreserverFix;
    use quick_xml::events::Event;
    use quick_xml::Reader;
    use std::collections::BTreeMap;

    const HOSTILE: &str = "<MID> & \"users\" ]]> 'it's' \r\n\tend";

    fn fix_of(name: &str, condition: &str, change: Change) -> Fix {
        let preserver = Preserver {
            sys_id: "a".repeat(32),
            name: name.into(),
            table: "sys_user".into(),
            condition: condition.into(),
            include_in_system_clone: Some(true),
            theme: Some(false),
            created_on: "2025-01-01 00:00:00".into(),
            default: None,
            metadata: [("sys_scope", "global"), ("sys_policy", "")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        Fix {
            source: "prod".into(),
            targets: vec!["dev".into()],
            run_id: "r".into(),
            stamp: "2026-11-24 09:00:00".into(),
            fixes: vec![PreserverFix {
                preserver,
                change: Some(change),
                links: vec![Link {
                    sys_id: "b".repeat(32),
                    profile: "c".repeat(32),
                    profile_name: HOSTILE.into(),
                }],
                keeps: String::new(),
                notes: vec![],
                closes: vec![],
            }],
            manual: vec![],
            locked: 0,
            new_fails: vec![],
            still_open: vec![],
            undecided: vec![],
        }
    }

    /// Each record: its element name, action, and its fields (text, display_value).
    type Parsed = Vec<(String, String, BTreeMap<String, (String, Option<String>)>)>;

    fn parse(xml: &str) -> (String, Parsed) {
        let mut reader = Reader::from_str(xml);
        let mut date = String::new();
        let mut records: Parsed = Vec::new();
        let mut field: Option<(String, Option<String>)> = None;
        let attr = |e: &quick_xml::events::BytesStart, name: &[u8]| {
            e.attributes()
                .map(|a| a.expect("a well-formed attribute"))
                .find(|a| a.key.as_ref() == name)
                .map(|a| a.unescape_value().expect("escaped").to_string())
        };
        let mut depth = 0;
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) | Event::Empty(e) if depth == 0 => {
                    assert_eq!(e.name().as_ref(), b"unload");
                    date = attr(&e, b"unload_date").unwrap_or_default();
                    depth = 1;
                }
                Event::Start(e) if depth == 1 => {
                    let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                    records.push((
                        name,
                        attr(&e, b"action").unwrap_or_default(),
                        BTreeMap::new(),
                    ));
                    depth = 2;
                }
                Event::Start(e) => {
                    let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                    let display = attr(&e, b"display_value");
                    records
                        .last_mut()
                        .expect("a record")
                        .2
                        .insert(name.clone(), (String::new(), display));
                    field = Some((name, None));
                }
                Event::Empty(e) => {
                    let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                    let display = attr(&e, b"display_value");
                    records
                        .last_mut()
                        .expect("a record")
                        .2
                        .insert(name, (String::new(), display));
                }
                Event::Text(t) => {
                    if let Some((name, _)) = &field {
                        let text = t.unescape().expect("escaped").to_string();
                        if let Some(f) = records.last_mut().and_then(|r| r.2.get_mut(name)) {
                            f.0.push_str(&text);
                        }
                    }
                }
                Event::End(_) if field.is_some() => field = None,
                Event::End(_) => depth -= 1,
                Event::Eof => break,
                _ => {}
            }
        }
        (date, records)
    }

    #[test]
    fn every_value_comes_back_as_written_whatever_it_holds() {
        let fix = fix_of(HOSTILE, "user_name=<a>&b^EQ", Change::Create);
        let xml = render(&fix);
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        assert!(!xml.contains("]]>") && !xml.contains("<MID>"), "{xml}");
        let (date, records) = parse(&xml);
        assert_eq!(date, "2026-11-24 09:00:00");
        assert_eq!(records.len(), 2);
        let (table, action, fields) = &records[0];
        assert_eq!(
            (table.as_str(), action.as_str()),
            ("clone_data_preserver", ACTION)
        );
        assert_eq!(fields["name"].0, HOSTILE);
        assert!(!fields.contains_key("sys_name"));
        assert_eq!(fields["condition"].0, "user_name=<a>&b^EQ");
        assert_eq!(fields["sys_policy"].0, "");
        assert_eq!(fields["sys_mod_count"].0, "0");
        // A flag that was never read is not guessed.
        assert!(!fields.contains_key("default"));
        let (table, _, fields) = &records[1];
        assert_eq!(table, "clone_profile_preservers");
        assert_eq!(fields["preserver"].0, "a".repeat(32));
        assert_eq!(fields["preserver"].1.as_deref(), Some(HOSTILE));
        assert_eq!(fields["profile"].1.as_deref(), Some(HOSTILE));
        assert_eq!(fields["sys_id"].0, "b".repeat(32));
        // The fields are in alphabetical order, as an export lists them.
        let names: Vec<&String> = fields.keys().collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn a_value_xml_cannot_carry_is_refused_and_dropped_from_display_values() {
        let fix = fix_of("bell\u{7}", "", Change::Update(vec![]));
        assert!(!can_carry(&fix.fixes[0].preserver));
        assert!(can_carry(
            &fix_of(HOSTILE, "", Change::Create).fixes[0].preserver
        ));
        // The link's display value drops what XML cannot carry; the file stays well-formed.
        let mut bell = fix_of("ok", "", Change::Create);
        bell.fixes[0].links[0].profile_name = "Thin\u{1}".into();
        let (_, records) = parse(&render(&bell));
        assert_eq!(records[1].2["profile"].1.as_deref(), Some("Thin"));
    }
}
