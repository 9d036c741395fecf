//! Each change resolved once for every subscriber that would see it alike.
//!
//! A thousand subscribers with the same document, variables and permissions would
//! otherwise each resolve every change: the same work a thousand times, which took
//! most of a core at twenty changes a second. A subscription's rendering key
//! ([`RenderKey`]) is fixed when it starts; the first subscriber to deliver a change
//! resolves it and the others reuse the answer. A document that selects something
//! that depends on who the viewer is (`viewerCan`, `sessions`) keys by the viewer too.
//!
//! An answer is only shared when resolving it added no error (see `live.rs`), so every
//! subscriber still sees an error as the executor reports it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_graphql::Value;

/// Answers kept: far more than the changes a burst delivers at once.
const KEPT: usize = 1024;

/// What decides how a subscription renders a change: its document, variables,
/// operation, the viewer's permissions, and (when it selects viewer-dependent
/// fields) the viewer. Compared whole, never by a hash alone: two subscriptions
/// share answers only when they would render them alike.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RenderKey(Arc<KeyParts>);

#[derive(Debug, PartialEq, Eq, Hash)]
struct KeyParts {
    query: String,
    variables: String,
    operation: Option<String>,
    permissions: u64,
    viewer: Option<i64>,
}

impl RenderKey {
    /// The key of a subscription with this text, variables (as JSON) and operation,
    /// for a viewer with these permissions (bits) and id.
    pub fn of(
        query: &str,
        variables: &str,
        operation: Option<&str>,
        permissions: u64,
        viewer: i64,
    ) -> Self {
        let personal = query.contains("viewerCan") || query.contains("sessions");
        RenderKey(Arc::new(KeyParts {
            query: query.to_owned(),
            variables: variables.to_owned(),
            operation: operation.map(str::to_owned),
            permissions,
            viewer: personal.then_some(viewer),
        }))
    }
}

/// One change as one rendering key renders it: resolved once, by the first subscriber
/// to get there, while the others wait for it; `None` when that resolution had an
/// error (each subscriber then resolves for itself).
pub type Slot = Arc<tokio::sync::OnceCell<Option<Value>>>;

/// Resolved changes by rendering key and change id, the oldest dropped first.
#[derive(Default)]
pub struct LiveMemo {
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    slots: HashMap<(RenderKey, i64), Slot>,
    order: VecDeque<(RenderKey, i64)>,
}

impl LiveMemo {
    /// The slot of this subscription key and change.
    pub fn slot(&self, key: (RenderKey, i64)) -> Slot {
        let mut kept = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = kept.slots.get(&key) {
            return slot.clone();
        }
        let slot = Slot::default();
        kept.slots.insert(key.clone(), slot.clone());
        kept.order.push_back(key);
        while kept.order.len() > KEPT {
            if let Some(old) = kept.order.pop_front() {
                kept.slots.remove(&old);
            }
        }
        slot
    }
}
