//! The streaming Table API body parser. It keeps only the requested fields of each row, so the
//! values of other fields (a `user_password` an instance sends anyway) are skipped without ever
//! being stored, and normalises every kept value to a string (see [`Row`]).

use super::Row;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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

pub(super) enum ResultShape {
    Rows(Vec<Row>),
    Other,
}

pub(super) struct Body {
    pub result: Option<ResultShape>,
    /// `error.message` when a 200 carried an error body instead.
    pub error: Option<String>,
}

pub(super) fn parse_body(body: &[u8], wanted: &HashSet<&str>) -> Result<Body, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = BodySeed { wanted }.deserialize(&mut de)?;
    de.end()?;
    Ok(parsed)
}

struct BodySeed<'a> {
    wanted: &'a HashSet<&'a str>,
}

impl<'de> DeserializeSeed<'de> for BodySeed<'_> {
    type Value = Body;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Body, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BodySeed<'_> {
    type Value = Body;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with a `result` array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut body = Body {
            result: None,
            error: None,
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "result" => {
                    body.result = Some(map.next_value_seed(ResultSeed {
                        wanted: self.wanted,
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
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Body {
            result: None,
            error: None,
        })
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Body, E> {
        Ok(Body {
            result: None,
            error: None,
        })
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Body, E> {
        self.visit_str("")
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Body, E> {
        self.visit_str("")
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Body, E> {
        self.visit_str("")
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Body, E> {
        self.visit_str("")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Body, E> {
        self.visit_str("")
    }
}

struct ResultSeed<'a> {
    wanted: &'a HashSet<&'a str>,
}

impl<'de> DeserializeSeed<'de> for ResultSeed<'_> {
    type Value = ResultShape;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ResultShape, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultSeed<'_> {
    type Value = ResultShape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ResultShape, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(10_000));
        while let Some(row) = seq.next_element_seed(RowSeed {
            wanted: self.wanted,
        })? {
            rows.push(row);
        }
        Ok(ResultShape::Rows(rows))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResultShape, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ResultShape::Other)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<ResultShape, E> {
        Ok(ResultShape::Other)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<ResultShape, E> {
        Ok(ResultShape::Other)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<ResultShape, E> {
        Ok(ResultShape::Other)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<ResultShape, E> {
        Ok(ResultShape::Other)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<ResultShape, E> {
        Ok(ResultShape::Other)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<ResultShape, E> {
        Ok(ResultShape::Other)
    }
}

struct RowSeed<'a> {
    wanted: &'a HashSet<&'a str>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Row;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Row, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Row;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
        let mut row = Row::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.wanted.contains(key.as_ref()) {
                let value: serde_json::Value = map.next_value()?;
                row.insert(key.into_owned(), normalise(value));
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
        let parsed = parse_body(body, &w).expect("parses");
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
    fn truncated_body_is_eof_and_html_is_syntax() {
        let w = wanted(&["a"]);
        let err = parse_body(br#"{"result":[{"a":"x"},{"a""#, &w)
            .err()
            .expect("error");
        assert_eq!(err.classify(), serde_json::error::Category::Eof);
        let err = parse_body(b"Hibernating", &w).err().expect("error");
        assert_eq!(err.classify(), serde_json::error::Category::Syntax);
    }
}
