//! Strings that many results repeat, stored once.
//!
//! A run of the large estate judges some 80,000 results; most name one of a few thousand
//! subjects (a user, a MID Server), one of a few instances and a handful of evidence values, each
//! repeated by every check about that subject. While [`Pool`] is in scope on a thread (the whole
//! of [`crate::checks::run`]), [`shared`] hands out one [`ArcStr`] per distinct text, so a
//! repeated text costs a pointer, not a copy. Outside a pool it simply allocates.

use arcstr::ArcStr;
use std::cell::RefCell;
use std::collections::HashSet;

pub use arcstr::ArcStr as Shared;

thread_local! {
    static POOL: RefCell<Option<HashSet<ArcStr>>> = const { RefCell::new(None) };
}

/// `text` as a shared string: the pool's copy when a [`Pool`] is in scope on this thread.
pub fn shared(text: &str) -> ArcStr {
    if text.is_empty() {
        return ArcStr::new();
    }
    POOL.with_borrow_mut(|pool| match pool {
        Some(set) => match set.get(text) {
            Some(found) => found.clone(),
            None => {
                let new = ArcStr::from(text);
                set.insert(new.clone());
                new
            }
        },
        None => ArcStr::from(text),
    })
}

/// Deserialises a string through [`shared`] (`#[serde(deserialize_with = ...)]`), so that a
/// file read back within a [`Pool`] shares its repeated texts as a collected run does.
pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ArcStr, D::Error> {
    let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    Ok(shared(&text))
}

/// While alive, [`shared`] on this thread returns one string per distinct text. Nested pools
/// share the outermost one; the pool's index is freed when the outermost ends (the strings live
/// on in whatever holds them).
///
/// A pool belongs to its thread: it is not `Send`, so it cannot be held across an `.await` of a
/// task that may move to another thread.
#[must_use = "the pool ends when this is dropped"]
pub struct Pool {
    outermost: bool,
    _thread: std::marker::PhantomData<*const ()>,
}

impl Pool {
    pub fn new() -> Self {
        let outermost = POOL.with_borrow_mut(|pool| {
            if pool.is_some() {
                return false;
            }
            *pool = Some(HashSet::new());
            true
        });
        Pool {
            outermost,
            _thread: std::marker::PhantomData,
        }
    }
}

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if self.outermost {
            POOL.with_borrow_mut(|pool| *pool = None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_a_pool_equal_texts_share_one_string_and_outside_they_do_not() {
        let (a, b) = {
            let _pool = Pool::new();
            (shared("mid.user"), shared(&String::from("mid.user")))
        };
        assert_eq!(a, "mid.user");
        assert!(ArcStr::ptr_eq(&a, &b), "one copy within a pool");
        let (c, d) = (shared("mid.user"), shared("mid.user"));
        assert_eq!(c, d);
        assert!(!ArcStr::ptr_eq(&c, &d), "no pool: each call allocates");
    }

    #[test]
    fn a_nested_pool_does_not_end_the_outer_one() {
        let _outer = Pool::new();
        let first = shared("x");
        drop(Pool::new());
        assert!(ArcStr::ptr_eq(&first, &shared("x")));
    }
}
