//! A fast path for resolving the objects of long lists, with no field written twice.
//!
//! async-graphql's executor (`resolve_container`) resolves each selected field as its
//! own boxed future, joined per object: on a page of 50 members that machinery cost
//! more CPU than the page's SQL. For a field without directives, in a schema without
//! extensions (Roster registers none: see [`super::schema`]), all the executor does is
//! `ContainerType::resolve_field` on the field's context (async-graphql 7.2.1,
//! `resolver_utils/container.rs`, `Fields::add_set`). [`answer`] does exactly that,
//! unboxed: every field is answered by the object's own `#[Object]` resolver, guards and
//! arguments included. A selection with fragments, directives or a repeated response
//! key, or a field whose resolver fails or does not finish on its first poll (it waits
//! on a loader or the database), sends the whole object to the executor, which answers
//! it and reports any error as it always does.
//!
//! async-graphql items used here that its documentation hides (`#[doc(hidden)]`),
//! checked against the version pinned in `Cargo.toml` (`=7.2.1`):
//! - `ContextBase::with_field`: the context of one field, as the executor builds it.
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
use futures_util::FutureExt;

/// `obj`'s answer to the selection of `ctx`, when every field answers at once; `None`
/// sends the object to the executor.
pub fn answer<T: ContainerType>(obj: &T, ctx: &ContextSelectionSet<'_>) -> Option<Value> {
    let items = &ctx.item.node.items;
    let mut map = IndexMap::with_capacity(items.len());
    for item in items {
        let Selection::Field(field) = &item.node else {
            return None;
        };
        if !field.node.directives.is_empty() {
            return None;
        }
        let value = if field.node.name.node == "__typename" {
            Value::String(obj.introspection_type_name().into_owned())
        } else {
            let ctx_field = ctx.with_field(field);
            obj.resolve_field(&ctx_field)
                .now_or_never()?
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
    // Like the executor, an object without any field is null.
    Some(if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    })
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
