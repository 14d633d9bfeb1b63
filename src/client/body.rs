//! The streaming Table API body parser. It keeps only the requested fields of each row, so the
//! values of other fields (a `user_password` an instance sends anyway) are skipped without ever
//! being stored, and normalises every kept value to a string (see [`Row`]).

use super::Row;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// A value as the evidence keeps it (see [`Row`]).
fn normalise(value: serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(mut map) => match (map.remove("value"), map.remove("display_value")) {
            (Some(v), _) => scalar_to_string(v),
            (None, Some(d)) => scalar_to_string(d),
            (None, None) => Value::Object(map).to_string(),
        },
        other @ Value::Array(_) => other.to_string(),
    }
}

fn scalar_to_string(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A JSON scalar as text (`detail` may be a string, `null` or, rarely, something else).
pub(super) fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

pub(super) enum ResultShape<R> {
    Rows(Vec<R>),
    Other,
}

pub(super) struct Body<R> {
    pub result: Option<ResultShape<R>>,
    /// `error.message` when a 200 carried an error body instead.
    pub error: Option<String>,
}

/// What a row of a body becomes, built from its wanted fields (each value normalised, see
/// [`Row`]) as the body is parsed: a [`Row`] map, or a typed row ([`Typed`]) with no map in
/// between.
pub trait FromFields: Sized {
    /// The row of `fields` (field, value), in the order the body gave them.
    fn from_fields(fields: Vec<(Cow<'_, str>, String)>, times: bool) -> Result<Self, String>;
}

impl FromFields for Row {
    fn from_fields(fields: Vec<(Cow<'_, str>, String)>, _: bool) -> Result<Self, String> {
        Ok(fields
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect())
    }
}

/// When a row was created and last changed, as it came (`sys_created_on`, `sys_updated_on`),
/// with its sys_id; `said` when the row carried either field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowStamp {
    pub sys_id: String,
    pub created_on: String,
    pub updated_on: String,
    pub said: bool,
}

/// A row deserialised into `T` straight from the body, with its [`RowStamp`] when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed<T> {
    pub row: T,
    pub stamp: Option<RowStamp>,
}

impl<T: serde::de::DeserializeOwned> FromFields for Typed<T> {
    fn from_fields(fields: Vec<(Cow<'_, str>, String)>, times: bool) -> Result<Self, String> {
        let stamp = times.then(|| {
            let mut stamp = RowStamp::default();
            for (k, v) in &fields {
                match k.as_ref() {
                    "sys_id" => stamp.sys_id = v.trim().to_string(),
                    "sys_created_on" => {
                        stamp.created_on = v.trim().to_string();
                        stamp.said = true;
                    }
                    "sys_updated_on" => {
                        stamp.updated_on = v.trim().to_string();
                        stamp.said = true;
                    }
                    _ => {}
                }
            }
            stamp
        });
        // The keys as they are (borrowed from the body when they had no escapes).
        let de = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
            fields.into_iter(),
        );
        let row = T::deserialize(de).map_err(|e| format!("a row could not be read: {e}"))?;
        Ok(Typed { row, stamp })
    }
}

pub(super) fn parse_body<R: FromFields>(
    body: &[u8],
    wanted: &HashSet<&str>,
    times: bool,
) -> Result<Body<R>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = BodySeed {
        wanted,
        times,
        rows: std::marker::PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(parsed)
}

struct BodySeed<'a, R> {
    wanted: &'a HashSet<&'a str>,
    times: bool,
    rows: std::marker::PhantomData<R>,
}

impl<'de, R: FromFields> DeserializeSeed<'de> for BodySeed<'_, R> {
    type Value = Body<R>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Body<R>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, R: FromFields> Visitor<'de> for BodySeed<'_, R> {
    type Value = Body<R>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with a `result` array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body<R>, A::Error> {
        let mut body = Body {
            result: None,
            error: None,
        };
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "result" => {
                    body.result = Some(map.next_value_seed(ResultSeed {
                        wanted: self.wanted,
                        times: self.times,
                        rows: std::marker::PhantomData,
                    })?)
                }
                "error" => {
                    let v: serde_json::Value = map.next_value()?;
                    body.error = v
                        .get("message")
                        .and_then(scalar_text)
                        .or_else(|| scalar_text(&v));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(body)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body<R>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Body {
            result: None,
            error: None,
        })
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Body<R>, E> {
        Ok(Body {
            result: None,
            error: None,
        })
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Body<R>, E> {
        self.visit_str("")
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Body<R>, E> {
        self.visit_str("")
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Body<R>, E> {
        self.visit_str("")
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Body<R>, E> {
        self.visit_str("")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Body<R>, E> {
        self.visit_str("")
    }
}

struct ResultSeed<'a, R> {
    wanted: &'a HashSet<&'a str>,
    times: bool,
    rows: std::marker::PhantomData<R>,
}

impl<'de, R: FromFields> DeserializeSeed<'de> for ResultSeed<'_, R> {
    type Value = ResultShape<R>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ResultShape<R>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, R: FromFields> Visitor<'de> for ResultSeed<'_, R> {
    type Value = ResultShape<R>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ResultShape<R>, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(10_000));
        while let Some(fields) = seq.next_element_seed(RowSeed {
            wanted: self.wanted,
        })? {
            let row = R::from_fields(fields, self.times).map_err(serde::de::Error::custom)?;
            rows.push(row);
        }
        Ok(ResultShape::Rows(rows))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResultShape<R>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ResultShape::Other)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<ResultShape<R>, E> {
        Ok(ResultShape::Other)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<ResultShape<R>, E> {
        Ok(ResultShape::Other)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<ResultShape<R>, E> {
        Ok(ResultShape::Other)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<ResultShape<R>, E> {
        Ok(ResultShape::Other)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<ResultShape<R>, E> {
        Ok(ResultShape::Other)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<ResultShape<R>, E> {
        Ok(ResultShape::Other)
    }
}

struct RowSeed<'a> {
    wanted: &'a HashSet<&'a str>,
}

/// A row's wanted fields, in the body's order (a field given twice: the last value wins).
type Fields<'de> = Vec<(Cow<'de, str>, String)>;

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Fields<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fields<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Fields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut row: Fields<'de> = Vec::with_capacity(self.wanted.len());
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if self.wanted.contains(key.as_ref()) {
                let value: serde_json::Value = map.next_value()?;
                let value = normalise(value);
                match row.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => *v = value,
                    None => row.push((key, value)),
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted<'a>(f: &'a [&'a str]) -> HashSet<&'a str> {
        f.iter().copied().collect()
    }

    #[test]
    fn normalises_every_value_shape() {
        let body = br#"{"result":[{"a":"x","b":{"link":"https://h/x","value":"id1"},
            "c":{"display_value":"Name","value":"id2"},"d":{"display_value":"Only"},
            "e":null,"f":3,"g":true,"h":[1],"user_password":"secret"}]}"#;
        let w = wanted(&["a", "b", "c", "d", "e", "f", "g", "h", "missing"]);
        let parsed = parse_body::<Row>(body, &w, false).expect("parses");
        let Some(ResultShape::Rows(rows)) = parsed.result else {
            panic!("rows expected")
        };
        let r = &rows[0];
        assert_eq!(r["a"], "x");
        assert_eq!(r["b"], "id1");
        assert_eq!(r["c"], "id2");
        assert_eq!(r["d"], "Only");
        assert_eq!(r["e"], "");
        assert_eq!(r["f"], "3");
        assert_eq!(r["g"], "true");
        assert_eq!(r["h"], "[1]");
        assert!(!r.contains_key("user_password"));
        assert!(!r.contains_key("missing"));
    }

    #[test]
    fn rows_are_typed_as_they_are_parsed_with_their_times_when_asked() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct UserRow {
            sys_id: String,
            user_name: String,
        }
        let body = br#"{"result":[
            {"sys_id":"u1","user_name":"mid.dev","user_password":"secret","sys_updated_on":"2026-11-23 10:00:00"},
            {"sys_id":{"value":"u2","link":"x"},"user_name":"mid.test","user_name":"mid.last"}]}"#;
        let w = wanted(&["sys_id", "user_name", "sys_updated_on"]);
        let Some(ResultShape::Rows(rows)) = parse_body::<Typed<UserRow>>(body, &w, true)
            .expect("parses")
            .result
        else {
            panic!("rows expected")
        };
        assert_eq!(rows[0].row.user_name, "mid.dev");
        assert_eq!(rows[1].row.sys_id, "u2");
        // A field given twice: the last value, as a map would keep it.
        assert_eq!(rows[1].row.user_name, "mid.last");
        let stamp = rows[0].stamp.clone().expect("asked for");
        assert!(stamp.said && stamp.updated_on == "2026-11-23 10:00:00" && stamp.sys_id == "u1");
        assert!(rows[1].stamp.as_ref().is_some_and(|s| !s.said));
        let untimed = parse_body::<Typed<UserRow>>(body, &w, false).expect("parses");
        let Some(ResultShape::Rows(rows)) = untimed.result else {
            panic!("rows expected")
        };
        assert!(rows.iter().all(|r| r.stamp.is_none()));
    }

    #[test]
    fn truncated_body_is_eof_and_html_is_syntax() {
        let w = wanted(&["a"]);
        let err = parse_body::<Row>(br#"{"result":[{"a":"x"},{"a""#, &w, false)
            .err()
            .expect("error");
        assert_eq!(err.classify(), serde_json::error::Category::Eof);
        let err = parse_body::<Row>(b"Hibernating", &w, false)
            .err()
            .expect("error");
        assert_eq!(err.classify(), serde_json::error::Category::Syntax);
    }
}
