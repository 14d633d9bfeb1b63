//! A result's evidence ([`crate::finding::CheckResult::evidence`]): short named strings, each
//! name once, in name order. A run of the large estate holds some 80,000 results, most with no
//! evidence or a few entries: as a sorted list whose names are mostly the checks' own constants
//! (borrowed, not copied), such evidence takes a fraction of the node a map allocates for it.
//! Values are shared ([`crate::shared_text`]): the same value in many results is stored once.
//! In JSON and in the report schema it is the same object of strings as a map.

use crate::shared_text::{shared, Shared};
use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// Named strings, sorted by name, each name once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceMap(Vec<(Cow<'static, str>, Shared)>);

impl EvidenceMap {
    pub const fn new() -> Self {
        EvidenceMap(Vec::new())
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_ref().cmp(key))
    }

    /// Sets `key` to `value`, returning the value it replaces.
    pub fn insert(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl AsRef<str>,
    ) -> Option<Shared> {
        let key = key.into();
        let value = shared(value.as_ref());
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).ok().map(|i| self.0[i].1.as_str())
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Each name and value, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// No more room than its entries take.
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl<'a> IntoIterator for &'a EvidenceMap {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = Self::Item> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl std::ops::Index<&str> for EvidenceMap {
    type Output = str;

    /// The value of `key`; panics when there is none, as a map's index does.
    fn index(&self, key: &str) -> &str {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no evidence named {key:?}"),
        }
    }
}

impl<K: Into<Cow<'static, str>>, V: AsRef<str>> FromIterator<(K, V)> for EvidenceMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = EvidenceMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl From<BTreeMap<String, String>> for EvidenceMap {
    fn from(map: BTreeMap<String, String>) -> Self {
        // Already sorted and unique.
        EvidenceMap(
            map.into_iter()
                .map(|(k, v)| (Cow::Owned(k), shared(&v)))
                .collect(),
        )
    }
}

impl Serialize for EvidenceMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k.as_ref(), v.as_str())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for EvidenceMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = EvidenceMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<EvidenceMap, A::Error> {
                let mut map = EvidenceMap::new();
                while let Some((k, v)) = access.next_entry::<String, String>()? {
                    map.insert(k, v);
                }
                Ok(map)
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

impl JsonSchema for EvidenceMap {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        <BTreeMap<String, String>>::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, String>>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_and_writes_as_a_map_sorted_by_name() {
        let mut m = EvidenceMap::new();
        assert_eq!(m.insert("zeta", "1"), None);
        assert_eq!(m.insert("alpha", "2"), None);
        assert_eq!(m.insert(String::from("mid"), "3"), None);
        assert_eq!(m.insert("alpha", "4"), Some("2".into()));
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("alpha"), Some("4"));
        assert!(m.contains_key("mid") && !m.contains_key("nope"));
        assert_eq!(&m["zeta"], "1");
        let json = serde_json::to_string(&m).expect("json");
        assert_eq!(json, r#"{"alpha":"4","mid":"3","zeta":"1"}"#);
        let back: EvidenceMap =
            serde_json::from_str(r#"{"zeta":"1","alpha":"4","mid":"3"}"#).expect("parses");
        assert_eq!(back, m);
        let as_map: BTreeMap<String, String> = serde_json::from_str(&json).expect("a map");
        assert_eq!(EvidenceMap::from(as_map), m);
        let keys: Vec<&str> = m.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["alpha", "mid", "zeta"]);
    }
}
