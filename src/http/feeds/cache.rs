//! Rendered feeds, cached by what they were rendered from.
//!
//! A cache entry is filed under a key (which feed) and a *stamp* (the data
//! version it was rendered from: the conference's `version`, or for an
//! agenda its own change time plus its conferences' versions). A request
//! uses an entry only if its stamp equals the current one, read from the
//! database (one indexed lookup on the blocking pool). Writers bump versions
//! inside their transactions, so a change shows in the very next response:
//! nothing is ever served stale, and nothing needs invalidating.
//!
//! On SQLite most requests skip even that lookup: its `data_version` (read
//! in microseconds from shared memory, see
//! [`crate::store::Store::data_version`]) changes on any commit by any
//! connection or process, so an entry checked at the current
//! `data_version` is still current. PostgreSQL has no such number across
//! machines (`None`): there every request reads the stamp, so a write on
//! any replica is seen by every other one at once.
//!
//! What an entry holds is a [`Rendered`]; the cache counts its bytes, every
//! compressed variant included, and knows nothing of HTTP.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use lru::LruCache;

use super::representation::Rendered;
use crate::domain::FeedOptions;

/// Which feed, rendered how: the feed options (alarms, compact) give other
/// bytes from the same data, so they are part of the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A conference feed with a canonical filter query.
    Conference {
        slug: String,
        filter: String,
        options: FeedOptions,
    },
    /// A single talk's `.ics`.
    Session {
        slug: String,
        id: String,
        options: FeedOptions,
    },
    /// An agenda feed, by token hash (never by token).
    Agenda {
        hash: [u8; 32],
        options: FeedOptions,
    },
    /// A conference's `schedule.xml` or `schedule.json` for schedule apps.
    Export {
        slug: String,
        format: crate::export::Format,
    },
    /// A conference's changes as Atom.
    Changes { slug: String },
    /// An agenda's changes as Atom, by token hash (never by token).
    AgendaChanges { hash: [u8; 32] },
}

struct Entry {
    stamp: String,
    value: Arc<Rendered>,
    /// The bytes this entry is counted for in [`Inner::bytes`]: what
    /// [`Rendered::held`] said when it was last charged.
    weight: usize,
    /// The [`crate::store::Store::data_version`] at which this entry was
    /// last known current: while the probe still reads that number, no
    /// write has happened and the database need not be asked. `None`
    /// (PostgreSQL): never known current without asking.
    verified_at: Option<i64>,
}

/// The map in recency order (the `lru` crate: a hash map threaded on a
/// linked list, so a use, an insert and an eviction are O(1); it replaced a
/// `HashMap` whose eviction scanned every entry for the oldest), and the
/// bytes its entries hold. The `lru` crate's own bound counts entries; ours
/// is in bytes, kept here.
struct Inner {
    map: LruCache<Key, Entry>,
    bytes: usize,
    max_bytes: usize,
}

impl Inner {
    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.map.pop(key) {
            self.bytes -= old.weight;
        }
    }

    fn evict(&mut self) {
        while self.bytes > self.max_bytes {
            match self.map.pop_lru() {
                Some((_, e)) => self.bytes -= e.weight,
                None => break,
            }
        }
    }
}

/// What a cached [`Rendered`] needs to have a compressed variant counted
/// when it is added, after the entry was filed.
pub(super) struct Ledger {
    key: Key,
    inner: Weak<Mutex<Inner>>,
}

impl Ledger {
    /// A variant of `r` was just added: the cache entry holding it (if any
    /// still does) is charged for it, and entries past the limit go.
    pub(super) fn charge(&self, r: &Rendered) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let held = r.held();
        let mut inner = lock(&inner);
        let Some(entry) = inner.map.peek_mut(&self.key) else {
            return;
        };
        if !std::ptr::eq(Arc::as_ptr(&entry.value), r) {
            return;
        }
        let before = std::mem::replace(&mut entry.weight, held);
        inner.bytes = inner.bytes - before + held;
        if held > inner.max_bytes {
            inner.remove(&self.key);
        }
        inner.evict();
    }
}

/// Bytes an entry costs besides its bodies: the entry, the `Rendered`, its
/// strings and the map's own links (an estimate, on the high side).
pub(super) const ENTRY_OVERHEAD: usize = 512;

/// A bounded map of rendered feeds; least recently used entries go first
/// when what they hold (bodies and every compressed variant) passes the
/// limit.
pub struct FeedCache {
    inner: Arc<Mutex<Inner>>,
    max_bytes: usize,
    pub hits: AtomicU64,
    pub renders: AtomicU64,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FeedCache {
    pub fn new(max_bytes: usize) -> Self {
        FeedCache {
            inner: Arc::new(Mutex::new(Inner {
                map: LruCache::unbounded(),
                bytes: 0,
                max_bytes,
            })),
            max_bytes,
            hits: AtomicU64::new(0),
            renders: AtomicU64::new(0),
        }
    }

    /// Bytes the cached entries hold now (never more than the limit).
    pub fn bytes(&self) -> usize {
        lock(&self.inner).bytes
    }

    /// The configured limit in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Entries cached now.
    pub fn len(&self) -> usize {
        lock(&self.inner).map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry for `key` if it is known current at `data_version`: no
    /// write at all has happened since it was checked.
    pub fn get_verified(&self, key: &Key, data_version: i64) -> Option<Arc<Rendered>> {
        let mut inner = lock(&self.inner);
        let entry = inner.map.peek(key)?;
        if entry.verified_at != Some(data_version) {
            return None;
        }
        let entry = inner.map.get(key)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry.value.clone())
    }

    /// The entry for `key` if it was rendered from exactly `stamp` (read
    /// after `data_version`, so the entry is current at that version).
    pub fn get(&self, key: &Key, stamp: &str, data_version: Option<i64>) -> Option<Arc<Rendered>> {
        let mut inner = lock(&self.inner);
        let entry = inner.map.get_mut(key)?;
        if entry.stamp != stamp {
            // Stamps only move forward, so this entry can never be current
            // again: free it now rather than keep it through the re-render
            // (for a 100,000-session feed that is 150 MB).
            inner.remove(key);
            return None;
        }
        entry.verified_at = data_version;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry.value.clone())
    }

    /// Files a rendering under `stamp`. `data_version` must have been read
    /// before the data was: the entry is then at least as new as the
    /// database was at that version.
    pub fn insert(&self, key: Key, stamp: String, data_version: Option<i64>, value: Arc<Rendered>) {
        self.renders.fetch_add(1, Ordering::Relaxed);
        let weight = value.held();
        let mut inner = lock(&self.inner);
        inner.remove(&key);
        if weight > self.max_bytes {
            return;
        }
        // A rendering is filed once; one filed again (never today) keeps
        // reporting to its first entry, which is then simply not found.
        let _ = value.ledger.set(Ledger {
            key: key.clone(),
            inner: Arc::downgrade(&self.inner),
        });
        inner.map.put(
            key,
            Entry {
                stamp,
                value,
                weight,
                verified_at: data_version,
            },
        );
        inner.bytes += weight;
        inner.evict();
    }
}

#[cfg(test)]
pub(super) mod tests {
    use bytes::Bytes;
    use chrono::Utc;

    use super::*;

    pub(in crate::http::feeds) fn rendered(body: &str) -> Arc<Rendered> {
        Arc::new(Rendered::new(
            Bytes::copy_from_slice(body.as_bytes()),
            Utc::now(),
            String::new(),
        ))
    }

    pub(in crate::http::feeds) fn key(s: &str) -> Key {
        Key::Conference {
            slug: s.into(),
            filter: String::new(),
            options: FeedOptions::default(),
        }
    }

    #[test]
    fn options_are_part_of_the_key() {
        let c = FeedCache::new(1 << 20);
        c.insert(key("a"), "v1".into(), Some(7), rendered("plain"));
        let with_alarm = Key::Conference {
            slug: "a".into(),
            filter: String::new(),
            options: FeedOptions {
                alarm: Some(10),
                compact: false,
            },
        };
        assert!(c.get(&with_alarm, "v1", Some(7)).is_none());
        assert!(c.get_verified(&with_alarm, 7).is_none());
        c.insert(
            with_alarm.clone(),
            "v1".into(),
            Some(7),
            rendered("alarmed"),
        );
        assert_eq!(
            &c.get(&with_alarm, "v1", Some(7)).unwrap().body[..],
            b"alarmed"
        );
        assert_eq!(&c.get(&key("a"), "v1", Some(7)).unwrap().body[..], b"plain");
    }

    #[test]
    fn stamps_decide() {
        let c = FeedCache::new(1 << 20);
        c.insert(key("a"), "v1".into(), Some(7), rendered("one"));
        assert!(c.get_verified(&key("a"), 7).is_some());
        assert!(c.get_verified(&key("a"), 8).is_none(), "a write happened");
        assert!(c.get(&key("a"), "v1", Some(8)).is_some());
        assert!(c.get_verified(&key("a"), 8).is_some(), "checked again at 8");
        assert!(
            c.get(&key("a"), "v2", Some(9)).is_none(),
            "another version is a miss"
        );
        assert!(c.get_verified(&key("a"), 9).is_none());
        assert!(c.get(&key("b"), "v1", Some(9)).is_none());
        c.insert(key("a"), "v2".into(), Some(9), rendered("two"));
        assert_eq!(&c.get(&key("a"), "v2", Some(9)).unwrap().body[..], b"two");
        assert!(c.get(&key("a"), "v1", Some(9)).is_none());
    }

    #[test]
    fn evicts_least_recently_used_past_the_limit() {
        let one = rendered("aaaa").held();
        let c = FeedCache::new(2 * one + one / 2);
        c.insert(key("a"), "v".into(), Some(1), rendered("aaaa"));
        c.insert(key("b"), "v".into(), Some(1), rendered("bbbb"));
        assert!(c.get(&key("a"), "v", Some(1)).is_some());
        c.insert(key("c"), "v".into(), Some(1), rendered("cccc"));
        assert!(
            c.get(&key("b"), "v", Some(1)).is_none(),
            "b was least recently used"
        );
        assert!(c.get(&key("a"), "v", Some(1)).is_some());
        assert!(c.get(&key("c"), "v", Some(1)).is_some());
        assert_eq!(c.bytes(), 2 * one);
        c.insert(
            key("huge"),
            "v".into(),
            Some(1),
            rendered(&"x".repeat(3 * one)),
        );
        assert!(c.get(&key("huge"), "v", Some(1)).is_none(), "never cached");
        assert_eq!(c.bytes(), 2 * one);
    }
}
