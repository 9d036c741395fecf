//! A fast path for resolving the objects of long lists.
//!
//! async-graphql resolves every selected field as its own boxed future, joined per
//! object: on a page of 50 members that machinery cost more CPU than the page's SQL.
//! Most fields are plain reads of a row, so when an object's selection holds only
//! such fields (no fragments, directives, arguments or repeated keys), [`plan`] lists
//! their values directly; anything else goes through the normal executor. A test
//! checks that both paths answer the same.

use async_graphql::parser::types::{Field, Selection};
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{ContainerType, ContextSelectionSet, Name, Positioned, ServerResult, Value};

/// Objects some of whose fields are plain values of the row.
pub trait PlainFields: ContainerType {
    /// The value of the field named `name` (its GraphQL name), when that field takes no
    /// arguments, has no sub-selection and cannot fail.
    fn plain(&self, name: &str) -> Option<Value>;
}

/// One entry of an object's answer.
pub enum Step<'a> {
    /// A value known already.
    Value(Value),
    /// A field the caller resolves (one of the `nested` names given to [`plan`]).
    Nested(&'a Positioned<Field>),
}

/// The answer's entries in selection order, or `None` when the selection needs the
/// normal executor.
pub fn plan<'a, T: PlainFields>(
    obj: &T,
    ctx: &ContextSelectionSet<'a>,
    nested: &[&str],
) -> Option<Vec<(Name, Step<'a>)>> {
    let items = &ctx.item.node.items;
    let mut steps: Vec<(Name, Step<'a>)> = Vec::with_capacity(items.len());
    for item in items {
        let Selection::Field(field) = &item.node else {
            return None;
        };
        let f = &field.node;
        if !f.directives.is_empty() || !f.arguments.is_empty() {
            return None;
        }
        let key = &f.response_key().node;
        if steps.iter().any(|(k, _)| k == key) {
            return None;
        }
        let name = f.name.node.as_str();
        let step = if name == "__typename" {
            Step::Value(Value::String(obj.introspection_type_name().into_owned()))
        } else if nested.contains(&name) {
            Step::Nested(field)
        } else {
            Step::Value(obj.plain(name)?)
        };
        steps.push((key.clone(), step));
    }
    Some(steps)
}

/// Resolves `obj`, whose selection is `ctx`, taking the fast path when it can.
pub async fn resolve<T: PlainFields>(
    obj: &T,
    ctx: &ContextSelectionSet<'_>,
) -> ServerResult<Value> {
    match plan(obj, ctx, &[]) {
        Some(steps) => Ok(object(steps.into_iter().filter_map(
            |(k, step)| match step {
                Step::Value(v) => Some((k, v)),
                Step::Nested(_) => None,
            },
        ))),
        None => resolve_container(ctx, obj).await,
    }
}

/// An object from its entries; like the executor, an object without any is null.
pub fn object(entries: impl IntoIterator<Item = (Name, Value)>) -> Value {
    let map: async_graphql::indexmap::IndexMap<Name, Value> = entries.into_iter().collect();
    if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    }
}
