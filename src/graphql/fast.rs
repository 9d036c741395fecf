//! A fast path for resolving the objects of long lists.
//!
//! async-graphql resolves every selected field as its own boxed future, joined per
//! object, and every list item as another: on a page of 50 members that machinery
//! cost more CPU than the page's SQL. Most fields are plain reads of a row, so when a
//! selection holds only such fields (no fragments, directives, arguments or repeated
//! keys), [`plan`] lists them once for the whole list and [`Plan::answer`] reads each
//! object's values directly; anything else goes through the normal executor. A test
//! checks that both paths answer the same.

use async_graphql::parser::types::{Selection, SelectionSet};
use async_graphql::{ContainerType, Name, Positioned, Value};

/// Objects some of whose fields are plain values of the row.
pub trait PlainFields: ContainerType {
    /// The value of the field named `name` (its GraphQL name), when that field takes no
    /// arguments, has no sub-selection and cannot fail.
    fn plain(&self, name: &str) -> Option<Value>;
}

/// How one selected field is answered.
enum Part<'a> {
    /// `__typename`.
    Typename,
    /// A field [`PlainFields::plain`] may answer.
    Plain(&'a str),
    /// A field the caller answers (one of the `nested` names given to [`plan`]), with
    /// the plan of its own selection when it has one.
    Nested(Option<Plan<'a>>),
}

/// The fields of a selection in answer order, checked once for every object it
/// applies to.
pub struct Plan<'a>(Vec<(&'a Name, Part<'a>)>);

/// The plan of a selection, or `None` when it needs the normal executor.
pub fn plan<'a>(set: &'a Positioned<SelectionSet>, nested: &[&str]) -> Option<Plan<'a>> {
    let items = &set.node.items;
    let mut parts: Vec<(&'a Name, Part<'a>)> = Vec::with_capacity(items.len());
    for item in items {
        let Selection::Field(field) = &item.node else {
            return None;
        };
        let f = &field.node;
        if !f.directives.is_empty() || !f.arguments.is_empty() {
            return None;
        }
        let key = &f.response_key().node;
        if parts.iter().any(|(k, _)| *k == key) {
            return None;
        }
        let name = f.name.node.as_str();
        let part = if name == "__typename" {
            Part::Typename
        } else if nested.contains(&name) {
            Part::Nested(plan(&f.selection_set, &[]))
        } else {
            Part::Plain(name)
        };
        parts.push((key, part));
    }
    Some(Plan(parts))
}

impl Plan<'_> {
    /// Whether a nested field is selected.
    pub fn nests(&self) -> bool {
        self.0
            .iter()
            .any(|(_, part)| matches!(part, Part::Nested(_)))
    }

    /// `obj`'s answer, or `None` when a field is not plain; `nested` answers the
    /// nested fields from their plans (`None` sends the object to the executor).
    pub fn answer<T: PlainFields>(
        &self,
        obj: &T,
        mut nested: impl FnMut(&Plan<'_>) -> Option<Value>,
    ) -> Option<Value> {
        let mut map = async_graphql::indexmap::IndexMap::with_capacity(self.0.len());
        for (key, part) in &self.0 {
            let value = match part {
                Part::Typename => Value::String(obj.introspection_type_name().into_owned()),
                Part::Plain(name) => obj.plain(name)?,
                Part::Nested(plan) => nested(plan.as_ref()?)?,
            };
            map.insert((*key).clone(), value);
        }
        // Like the executor, an object without any field is null.
        Some(if map.is_empty() {
            Value::Null
        } else {
            Value::Object(map)
        })
    }
}
