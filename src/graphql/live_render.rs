//! A live subscription, rendered once per change for every subscriber alike.
//!
//! A subscription starts through the executor like any operation: validation, limits,
//! `memberChanged`'s checks (MEMBERS_VIEW, the `after` cursor) and its errors are the
//! executor's. When it starts, the resolver hands the domain's feed over (see
//! [`Handoff`]) instead of streaming through async-graphql: at a thousand subscribers
//! and twenty changes a second, the executor's per-item stream machinery and each
//! subscriber's own JSON were most of the CPU of delivering.
//!
//! Each change is then rendered once per rendering key ([`RenderKey`]): the first
//! subscriber to reach it executes the document on that change alone (see [`Render`])
//! and keeps the payload's text; the others with the same key send that text. A render
//! with an error is not shared: each subscriber then renders for itself, so every
//! subscriber still sees an error as the executor reports it. An error of the feed
//! (the session ended, resume required) is rendered through the executor too, and ends
//! the subscription.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, Variables};
use futures_util::stream::{BoxStream, StreamExt};

use crate::db::Pool;
use crate::domain::feed::{self, Change};
use crate::error::Error;
use crate::graphql::RosterSchema;
use crate::graphql::access::RequestCtx;
use crate::graphql::loaders::Loaders;

/// Answers kept: far more than the changes a burst delivers at once.
const KEPT: usize = 1024;

/// What decides how a subscription renders a change: its document, variables,
/// operation, the viewer's permissions, and (when it selects viewer-dependent
/// fields) the viewer. Compared whole, never by a hash alone: two subscriptions
/// share answers only when they would render them alike.
#[derive(Clone, Debug)]
pub struct RenderKey(Arc<KeyParts>, u64);

impl PartialEq for RenderKey {
    fn eq(&self, other: &Self) -> bool {
        self.1 == other.1 && (Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0)
    }
}

impl Eq for RenderKey {}

// Hashed once, when the subscription starts: every delivery looks its key up.
impl std::hash::Hash for RenderKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.1);
    }
}

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
        let parts = KeyParts {
            query: query.to_owned(),
            variables: variables.to_owned(),
            operation: operation.map(str::to_owned),
            permissions,
            viewer: personal.then_some(viewer),
        };
        static SEED: std::sync::LazyLock<std::hash::RandomState> =
            std::sync::LazyLock::new(std::hash::RandomState::new);
        let hash = std::hash::BuildHasher::hash_one(&*SEED, &parts);
        RenderKey(Arc::new(parts), hash)
    }
}

/// One change as one rendering key renders it: the payload's JSON text, made once by
/// the first subscriber to get there while the others wait for it; `None` when that
/// render had an error (each subscriber then renders for itself).
type Slot = Arc<tokio::sync::OnceCell<Option<Arc<str>>>>;

/// Rendered changes by rendering key and change id, the oldest dropped first.
#[derive(Default)]
pub struct Renders {
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    keys: HashSet<RenderKey>,
    slots: HashMap<(RenderKey, i64), Slot>,
    order: VecDeque<(RenderKey, i64)>,
}

impl Renders {
    /// `key`, or an equal one already in use: equal keys of live subscriptions then
    /// share one allocation, and each delivery's lookup compares pointers only.
    pub fn intern(&self, key: RenderKey) -> RenderKey {
        let mut kept = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // A key only this set holds belongs to no subscription any more.
        kept.keys.retain(|k| Arc::strong_count(&k.0) > 1);
        match kept.keys.get(&key) {
            Some(known) => known.clone(),
            None => {
                kept.keys.insert(key.clone());
                key
            }
        }
    }

    fn slot(&self, key: (RenderKey, i64)) -> Slot {
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

/// The domain's feed of one subscription, as the feed gives it (boxed: it moves with
/// the subscription's phase at every delivery).
pub type Changes = Box<feed::Subscriber>;

/// Where `memberChanged`'s resolver leaves the feed of a subscription that started.
#[derive(Clone, Default)]
pub struct Handoff(Arc<Mutex<Option<Changes>>>);

impl Handoff {
    /// Leaves the feed for the connection to take.
    pub fn put(&self, changes: Changes) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(changes);
    }

    fn take(&self) -> Option<Changes> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The one item a render executes the document on: a change, or the error ending the
/// feed. `memberChanged` streams just this item, without checks (they were made when
/// the subscription started).
pub struct Render(Mutex<Option<Result<Arc<Change>, Error>>>);

impl Render {
    /// The item, once.
    pub fn take(&self) -> Option<Result<Arc<Change>, Error>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// What a subscription sends next.
pub enum Delivery {
    /// A response of the executor; `first` when it is the operation's first.
    Response {
        /// Whether it is the operation's first response.
        first: bool,
        /// The response, shaped as HTTP's are.
        response: Box<Response>,
    },
    /// A `next` payload's JSON text, shared by every subscriber of the same key.
    Text(Arc<str>),
    /// The subscription ended.
    End,
}

/// A subscription that passed preparation (parsed, within limits).
pub struct Subscription {
    /// The schema that executes the start; renders use `validated` (the start
    /// validated the document).
    pub schema: RosterSchema,
    /// The schema without validation rules.
    pub validated: RosterSchema,
    /// The request as the client sent it, carrying its parsed document.
    pub request: Request,
    /// The parsed document.
    pub doc: Arc<ExecutableDocument>,
    /// How its changes render.
    pub key: RenderKey,
    /// Who subscribes, from where.
    pub ctx: RequestCtx,
    /// For the loaders of each render.
    pub pool: Pool,
    /// Renders shared by this instance's subscriptions.
    pub renders: Arc<Renders>,
}

/// What a render needs, kept while the subscription runs.
struct Renderer {
    validated: RosterSchema,
    query: String,
    variables: Variables,
    operation: Option<String>,
    doc: Arc<ExecutableDocument>,
    key: RenderKey,
    ctx: RequestCtx,
    pool: Pool,
    renders: Arc<Renders>,
}

// Boxed: the phase moves in and out of the stream's state at every delivery.
enum Phase {
    Starting(BoxStream<'static, Response>, Handoff, Box<Renderer>, bool),
    Running(Changes, Box<Renderer>),
    Ending,
    Ended,
}

/// Runs `subscription`: what to send, in order, ending with [`Delivery::End`].
pub fn run(subscription: Subscription) -> BoxStream<'static, Delivery> {
    let Subscription {
        schema,
        validated,
        request,
        doc,
        key,
        ctx,
        pool,
        renders,
    } = subscription;
    let renderer = Box::new(Renderer {
        validated,
        query: request.query.clone(),
        variables: request.variables.clone(),
        operation: request.operation_name.clone(),
        doc,
        key,
        ctx: ctx.clone(),
        pool: pool.clone(),
        renders,
    });
    let handoff = Handoff::default();
    let request = request
        .data(handoff.clone())
        .data(ctx)
        .data(Loaders::new(&pool));
    let start = schema.execute_stream(request).boxed();
    futures_util::stream::unfold(Phase::Starting(start, handoff, renderer, true), next).boxed()
}

async fn next(phase: Phase) -> Option<(Delivery, Phase)> {
    match phase {
        Phase::Starting(mut start, handoff, renderer, first) => match start.next().await {
            Some(response) => {
                let response = Box::new(renderer.shape(response));
                let delivery = Delivery::Response { first, response };
                Some((delivery, Phase::Starting(start, handoff, renderer, false)))
            }
            None => match handoff.take() {
                Some(changes) => Box::pin(next(Phase::Running(changes, renderer))).await,
                None => Some((Delivery::End, Phase::Ended)),
            },
        },
        Phase::Running(mut changes, renderer) => match changes.next().await {
            Some(Ok(change)) => {
                let delivery = renderer.change(change).await;
                Some((delivery, Phase::Running(changes, renderer)))
            }
            Some(Err(e)) => {
                let response = Box::new(renderer.render(Err(e)).await);
                let delivery = Delivery::Response {
                    first: false,
                    response,
                };
                Some((delivery, Phase::Ending))
            }
            None => Some((Delivery::End, Phase::Ended)),
        },
        Phase::Ending => Some((Delivery::End, Phase::Ended)),
        Phase::Ended => None,
    }
}

impl Renderer {
    /// `change` as this subscription sends it: the shared text, or its own response
    /// when the shared render had an error.
    async fn change(&self, change: Arc<Change>) -> Delivery {
        let slot = self.renders.slot((self.key.clone(), change.id));
        // This subscriber's own response, when it rendered the change with an error.
        let mut own = None;
        let shared = slot
            .get_or_init(|| async {
                let response = self.render(Ok(change.clone())).await;
                if !response.errors.is_empty() {
                    own = Some(response);
                    return None;
                }
                serde_json::to_string(&response).ok().map(Arc::from)
            })
            .await;
        let response = match (shared, own) {
            (Some(text), _) => return Delivery::Text(text.clone()),
            (None, Some(response)) => response,
            (None, None) => self.render(Ok(change)).await,
        };
        Delivery::Response {
            first: false,
            response: Box::new(response),
        }
    }

    /// The document executed on one item, through loaders holding the change's rows.
    async fn render(&self, item: Result<Arc<Change>, Error>) -> Response {
        let loaders = Loaders::new(&self.pool);
        if let Ok(change) = &item {
            loaders.refresh(&change.rows).await;
        }
        let mut request = Request::new(self.query.clone()).variables(self.variables.clone());
        if let Some(operation) = &self.operation {
            request = request.operation_name(operation.clone());
        }
        request.set_parsed_query(ExecutableDocument::clone(&self.doc));
        let request = request
            .data(Render(Mutex::new(Some(item))))
            .data(self.ctx.clone())
            .data(loaders);
        let response = self.validated.execute_stream(request).next().await;
        self.shape(response.unwrap_or_else(|| {
            Response::from_errors(vec![async_graphql::ServerError::new(
                "the change rendered to nothing",
                None,
            )])
        }))
    }

    /// The response as HTTP's are: nulls propagated, fields in selection order.
    fn shape(&self, mut response: Response) -> Response {
        let operation = self.operation.as_deref();
        crate::graphql::nulls::propagate(&mut response, &self.doc, operation);
        crate::graphql::ordering::order_response(&mut response.data, &self.doc, operation);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_subscriptions_share_a_key_and_others_do_not() {
        let plain = "subscription { memberChanged { cursor } }";
        let a = RenderKey::of(plain, "{}", None, 7, 1);
        let b = RenderKey::of(plain, "{}", None, 7, 2);
        assert_eq!(a, b, "the viewer counts only for viewer-dependent fields");
        let state = std::hash::RandomState::new();
        assert_eq!(state.hash_one(&a), state.hash_one(&b));
        assert_ne!(a, RenderKey::of(plain, "{}", None, 3, 1), "permissions");
        assert_ne!(
            a,
            RenderKey::of(plain, r#"{"x":1}"#, None, 7, 1),
            "variables"
        );
        let personal =
            "subscription { memberChanged { member { viewerCan { freeze { allowed } } } } }";
        assert_ne!(
            RenderKey::of(personal, "{}", None, 7, 1),
            RenderKey::of(personal, "{}", None, 7, 2)
        );
    }

    #[test]
    fn equal_keys_are_interned_and_forgotten_with_their_subscriptions() {
        let renders = Renders::default();
        let plain = "subscription { memberChanged { cursor } }";
        let a = renders.intern(RenderKey::of(plain, "{}", None, 7, 1));
        let b = renders.intern(RenderKey::of(plain, "{}", None, 7, 2));
        assert!(Arc::ptr_eq(&a.0, &b.0), "equal keys share one allocation");
        let other = renders.intern(RenderKey::of(plain, "{}", None, 3, 1));
        assert!(!Arc::ptr_eq(&a.0, &other.0));
        drop((a, b, other));
        // Interning anything prunes the keys no subscription holds.
        let _c = renders.intern(RenderKey::of(plain, r#"{"x":1}"#, None, 7, 1));
        let kept = renders.inner.lock().unwrap();
        assert_eq!(kept.keys.len(), 1);
    }
}
