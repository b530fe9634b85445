//! A map keyed by two strings (course and step, course and skill…) that is looked up with two
//! `&str` and allocates its keys only when it inserts a new entry.
//!
//! The replay and the memoised content reads look rows up hundreds of thousands of times; a
//! `HashMap<(String, String), V>` would allocate both strings on every look-up. This map only
//! stores and finds values: it never decides what a key means.

use std::collections::HashMap;

#[derive(Debug)]
pub(super) struct PairMap<V> {
    entries: HashMap<String, HashMap<String, V>>,
}

impl<V> Default for PairMap<V> {
    fn default() -> Self {
        PairMap {
            entries: HashMap::new(),
        }
    }
}

impl<V> PairMap<V> {
    pub(super) fn get(&self, first: &str, second: &str) -> Option<&V> {
        self.entries.get(first)?.get(second)
    }

    pub(super) fn get_mut(&mut self, first: &str, second: &str) -> Option<&mut V> {
        self.entries.get_mut(first)?.get_mut(second)
    }

    /// Changes the value under the key with `change`, starting from `make()` when there is
    /// none; returns what `change` returns.
    pub(super) fn update<R>(
        &mut self,
        first: &str,
        second: &str,
        make: impl FnOnce() -> V,
        change: impl FnOnce(&mut V) -> R,
    ) -> R {
        if let Some(value) = self.get_mut(first, second) {
            return change(value);
        }
        let mut value = make();
        let result = change(&mut value);
        self.insert_new(first, second, value);
        result
    }

    pub(super) fn insert(&mut self, first: &str, second: &str, value: V) {
        match self.get_mut(first, second) {
            Some(slot) => *slot = value,
            None => self.insert_new(first, second, value),
        }
    }

    /// Inserts under a key that holds no value: the only place keys are allocated.
    fn insert_new(&mut self, first: &str, second: &str, value: V) {
        self.entries
            .entry(first.to_string())
            .or_default()
            .insert(second.to_string(), value);
    }

    pub(super) fn remove(&mut self, first: &str, second: &str) -> Option<V> {
        self.entries.get_mut(first)?.remove(second)
    }

    /// Every entry, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &str, &V)> {
        self.entries.iter().flat_map(|(first, inner)| {
            inner
                .iter()
                .map(move |(second, value)| (first.as_str(), second.as_str(), value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_by_both_keys_and_replaced_in_place() {
        let mut map = PairMap::default();
        map.insert("course", "q1", 1);
        map.insert("course", "q2", 2);
        map.insert("course", "q1", 3);
        assert_eq!(map.get("course", "q1"), Some(&3));
        assert_eq!(map.get("other", "q1"), None);
        map.update("other", "q1", || 0, |value| *value += 5);
        map.update("other", "q1", || 0, |value| *value *= 2);
        assert_eq!(map.get("other", "q1"), Some(&10));
        assert_eq!(map.remove("course", "q2"), Some(2));
        let mut all: Vec<_> = map.iter().map(|(a, b, v)| (a, b, *v)).collect();
        all.sort();
        assert_eq!(all, [("course", "q1", 3), ("other", "q1", 10)]);
    }
}
