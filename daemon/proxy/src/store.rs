//! Responses we served, kept for `previous_response_id`.
//!
//! Bounded by count and by bytes (oldest evicted first), in memory only: it exists for
//! clients that chain requests by id. Codex sends `store: false` and the whole history every
//! time, so its traffic never lands here and costs nothing. Requests with `store: false` are
//! never kept (the OpenAI API's own rule).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use codex_launcher_translate::responses::InputItem;

/// Default bounds: 256 responses, 64 MiB.
pub const DEFAULT_MAX_ENTRIES: usize = 256;
/// Default byte bound.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

/// One stored exchange: the full input it answered, and its output as input items.
#[derive(Debug)]
pub struct Stored {
    /// The expanded input of the request.
    pub input: Vec<InputItem>,
    /// The response's output items.
    pub output: Vec<InputItem>,
    bytes: usize,
}

/// The store.
#[derive(Debug)]
pub struct ResponseStore {
    inner: Mutex<Inner>,
    max_entries: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Arc<Stored>>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Default for ResponseStore {
    fn default() -> Self {
        ResponseStore::new(DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES)
    }
}

impl ResponseStore {
    /// A store with these bounds.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        ResponseStore {
            inner: Mutex::new(Inner::default()),
            max_entries,
            max_bytes,
        }
    }

    /// Keep a response.
    pub fn put(&self, id: String, input: Vec<InputItem>, output: Vec<InputItem>) {
        let bytes = serde_json::to_vec(&input).map(|v| v.len()).unwrap_or(0)
            + serde_json::to_vec(&output).map(|v| v.len()).unwrap_or(0);
        if bytes > self.max_bytes || self.max_entries == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.bytes += bytes;
        if let Some(old) = inner.map.insert(
            id.clone(),
            Arc::new(Stored {
                input,
                output,
                bytes,
            }),
        ) {
            inner.bytes -= old.bytes;
            inner.order.retain(|k| k != &id);
        }
        inner.order.push_back(id);
        while inner.order.len() > self.max_entries || inner.bytes > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.map.remove(&oldest) {
                inner.bytes -= old.bytes;
            }
        }
    }

    /// Look a response up.
    pub fn get(&self, id: &str) -> Option<Arc<Stored>> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .get(id)
            .cloned()
    }

    /// Number of stored responses.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str) -> InputItem {
        InputItem::from_value(serde_json::json!({"role": "user", "content": text})).unwrap()
    }

    #[test]
    fn evicts_oldest_by_count() {
        let s = ResponseStore::new(2, 1 << 20);
        for id in ["a", "b", "c"] {
            s.put(id.into(), vec![item(id)], vec![]);
        }
        assert!(s.get("a").is_none());
        assert!(s.get("c").is_some());
        assert_eq!(s.len(), 2);
    }
}
