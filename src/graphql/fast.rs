//! A fast path for resolving the objects of long lists, with no field written twice.
//!
//! async-graphql's executor (`resolve_container`) resolves each selected field as its
//! own boxed future, joined per object: on a page of 50 members that machinery cost
//! more CPU than the page's SQL. For a field without directives, in a schema without
//! extensions (Roster registers none: see [`super::schema`]), all the executor does is
//! `ContainerType::resolve_field` on the field's context (async-graphql 7.2.1,
//! `resolver_utils/container.rs`, `Fields::add_set`). [`answer`] does exactly that,
//! unboxed: every field is answered by the object's own `#[Object]` resolver, guards and
//! arguments included, and fragments on the object's own type are answered the same
//! way. A selection with directives, a fragment on an interface or a repeated response
//! key, or a field whose resolver fails or does not finish on its first poll (it waits
//! on a loader or the database), sends the whole object to the executor, which answers
//! it and reports any error as it always does.
//!
//! async-graphql items used here that its documentation hides (`#[doc(hidden)]`),
//! checked against the version pinned in `Cargo.toml` (`=7.2.1`):
//! - `ContextBase::with_field` and `with_index`: the context of one field and of one
//!   list item, as the executor builds them; `set_error_path`, to place an error of
//!   an item sent to the executor as the executor places it.
//! - `ContextSelectionSet`: the context type `OutputType::resolve` receives.
//! - `registry::Registry`: what `OutputType::create_type_info` takes, to register
//!   [`Fast`] as the type it wraps.
//! - `indexmap`: the map type of `Value::Object`.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{
    ContainerType, ContextSelectionSet, OutputType, Positioned, ServerResult, Value,
};
use futures_util::future::try_join_all;

/// `obj`'s answer to the selection of `ctx`, when every field answers at once; `None`
/// sends the object to the executor.
pub fn answer<T: ContainerType>(obj: &T, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
    let mut map = IndexMap::with_capacity(ctx.item.node.items.len());
    collect(obj, ctx, &mut map)?;
    // Like the executor, an object without any field is null.
    Some(if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    })
}

/// Answers the fields of `ctx`'s selection into `map`, and those of the fragments in it
/// that apply to `obj`'s type (named or inline, as the executor's `add_set` does for
/// an object type); `None` when something is left to the executor.
fn collect<T: ContainerType>(
    obj: &T,
    ctx: &ContextSelectionSet<'_>,
    map: &mut IndexMap<async_graphql::Name, Value>,
) -> Option<()> {
    for item in &ctx.item.node.items {
        if !item.node.directives().is_empty() {
            return None;
        }
        let field = match &item.node {
            Selection::Field(field) => field,
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let fragment = ctx.query_env.fragments.get(name)?;
                let on = Some(&fragment.node.type_condition);
                collect_fragment(obj, ctx, on, &fragment.node.selection_set, map)?;
                continue;
            }
            Selection::InlineFragment(fragment) => {
                let on = fragment.node.type_condition.as_ref();
                collect_fragment(obj, ctx, on, &fragment.node.selection_set, map)?;
                continue;
            }
        };
        let value = if field.node.name.node == "__typename" {
            Value::String(obj.introspection_type_name().into_owned())
        } else {
            let ctx_field = ctx.with_field(field);
            ready(obj.resolve_field(&ctx_field))?
                .ok()?
                .unwrap_or_default()
        };
        // The executor merges repeated keys; leave that to it.
        if map
            .insert(field.node.response_key().node.clone(), value)
            .is_some()
        {
            return None;
        }
    }
    Some(())
}

/// A fragment on `obj`: its fields when it names `obj`'s own type or none; anything
/// else (an interface) goes to the executor.
fn collect_fragment<'a, T: ContainerType>(
    obj: &T,
    ctx: &ContextSelectionSet<'a>,
    on: Option<&Positioned<async_graphql::parser::types::TypeCondition>>,
    selection_set: &'a Positioned<async_graphql::parser::types::SelectionSet>,
    map: &mut IndexMap<async_graphql::Name, Value>,
) -> Option<()> {
    if on.is_some_and(|on| on.node.on.node != *obj.introspection_type_name()) {
        return None;
    }
    collect(obj, &ctx.with_selection_set(selection_set), map)
}

/// The objects of a list, answered in one pass on the fast path; those it cannot
/// answer go through the executor together, so that their loads still batch. (The
/// executor's own list resolution joins a future per item, through `FuturesOrdered`
/// past 30 items, which cost more than the fields themselves.)
pub struct FastList<'a, T>(pub &'a [Fast<T>]);

impl<T: ContainerType> OutputType for FastList<'_, T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<Fast<T>> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<Fast<T>> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<Fast<T>> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let mut values: Vec<Option<Value>> = (self.0.iter().enumerate())
            .map(|(idx, item)| answer(&item.0, &ctx.with_index(idx)))
            .collect();
        // Objects often wait on the same load (what every item's field reads once):
        // the first that waits goes through the executor alone, then the others are
        // tried again, most of them now answering at once from the loaders' caches.
        if let Some(first) = values.iter().position(Option::is_none) {
            let first_ctx = ctx.with_index(first);
            let value = Box::pin(resolve_container(&first_ctx, &self.0[first].0)).await;
            values[first] = Some(value.map_err(|e| first_ctx.set_error_path(e))?);
            for (idx, value) in values.iter_mut().enumerate().skip(first + 1) {
                if value.is_none() {
                    *value = answer(&self.0[idx].0, &ctx.with_index(idx));
                }
            }
        }
        let rest = values.iter().enumerate().filter(|(_, v)| v.is_none());
        let resolved = try_join_all(rest.map(|(idx, _)| async move {
            let ctx = ctx.with_index(idx);
            let value = resolve_container(&ctx, &self.0[idx].0).await;
            value.map(|v| (idx, v)).map_err(|e| ctx.set_error_path(e))
        }))
        .await?;
        for (idx, value) in resolved {
            values[idx] = Some(value);
        }
        Ok(Value::List(values.into_iter().flatten().collect()))
    }
}

/// The output of `future` if it is ready at its first poll. Polled where it is made:
/// a resolver's future holds the states of every field of its object, and moving it
/// (as `now_or_never` does) copied kilobytes per field.
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    match future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// `T` as the API shows it, resolved on the fast path first: for the objects of lists
/// and what they nest.
pub struct Fast<T>(pub T);

impl<T: ContainerType> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match answer(&self.0, ctx) {
            Some(value) => Ok(value),
            // Boxed: the executor's future is large and rarely needed here.
            None => Box::pin(resolve_container(ctx, &self.0)).await,
        }
    }
}
