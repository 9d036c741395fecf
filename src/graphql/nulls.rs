//! Null propagation, as the GraphQL spec has it: a field that failed is `null`, and a
//! failed non-null field makes its parent `null` instead, up to the nearest nullable
//! position, or the whole `data` when there is none.
//!
//! async-graphql 7.2 leaves a failed field's key out of its object whatever its type
//! (`do_resolve_container`), so `{ members {...} auditEvents {...} }` without
//! `AUDIT_LOG_VIEW` answered `members` alone, a shape generated client types say cannot
//! happen. This puts the nulls where the spec does, from the errors' paths, the
//! document and the schema's field types.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet, Type,
    TypeKind, TypeSystemDefinition,
};
use async_graphql::{PathSegment, Response, Value};

/// Each object type's fields and their types, from the schema's SDL.
type Fields = HashMap<String, HashMap<String, Type>>;

static FIELDS: LazyLock<Fields> = LazyLock::new(|| {
    let document =
        async_graphql::parser::parse_schema(super::sdl()).expect("the schema's own SDL parses");
    let mut types = Fields::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let fields = match &ty.node.kind {
            TypeKind::Object(object) => &object.fields,
            TypeKind::Interface(interface) => &interface.fields,
            _ => continue,
        };
        let fields = fields
            .iter()
            .map(|f| (f.node.name.node.to_string(), f.node.ty.node.clone()))
            .collect();
        types.insert(ty.node.name.node.to_string(), fields);
    }
    types
});

/// Puts the nulls of `response`'s errors where the spec has them.
pub fn propagate(response: &mut Response, doc: &ExecutableDocument, operation: Option<&str>) {
    if response.errors.is_empty() || response.data == Value::Null {
        return;
    }
    let Some((root, set)) = operation_of(doc, operation) else {
        return;
    };
    for error in &response.errors {
        if error.path.is_empty() || present(&response.data, &error.path) {
            continue;
        }
        match nullable_prefix(root, set, doc, &error.path) {
            Some(len) => set_null(&mut response.data, &error.path[..len]),
            None => {
                response.data = Value::Null;
                return;
            }
        }
    }
}

fn operation_of<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(&'static str, &'a SelectionSet)> {
    let operation = match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    let root = match operation.node.ty {
        OperationType::Query => "Query",
        OperationType::Mutation => "Mutation",
        OperationType::Subscription => "Subscription",
    };
    Some((root, &operation.node.selection_set.node))
}

/// Whether `data` holds a value at `path` (a failed field has none).
fn present(data: &Value, path: &[PathSegment]) -> bool {
    let mut value = data;
    for segment in path {
        value = match (value, segment) {
            (Value::Object(map), PathSegment::Field(key)) => match map.get(key.as_str()) {
                Some(v) => v,
                None => return false,
            },
            (Value::List(items), PathSegment::Index(i)) => match items.get(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    true
}

/// The length of the longest prefix of `path` naming a nullable position (a field or
/// a list item), or `None` when every position up to the root is non-null. A field the
/// schema does not describe (introspection's) counts as nullable where it failed.
fn nullable_prefix(
    root: &str,
    set: &SelectionSet,
    doc: &ExecutableDocument,
    path: &[PathSegment],
) -> Option<usize> {
    let mut nullable_at = Vec::with_capacity(path.len());
    let mut parent = root.to_owned();
    let mut sets = vec![set];
    let mut ty: Option<&Type> = None;
    for segment in path {
        match segment {
            PathSegment::Field(key) => {
                let mut below = Vec::new();
                let name = field_name(&sets, doc, key, &mut below);
                let Some(field) = name.and_then(|n| FIELDS.get(&parent)?.get(&n)) else {
                    nullable_at.push(true);
                    break;
                };
                nullable_at.push(field.nullable);
                parent = named(field).to_owned();
                sets = below;
                ty = Some(field);
            }
            PathSegment::Index(_) => {
                let item = match ty.map(|t| &t.base) {
                    Some(BaseType::List(item)) => item.as_ref(),
                    _ => {
                        nullable_at.push(true);
                        break;
                    }
                };
                nullable_at.push(item.nullable);
                ty = Some(item);
            }
        }
    }
    nullable_at.iter().rposition(|n| *n).map(|i| i + 1)
}

/// The field answering response key `key` in `sets`, and the selection sets below it.
fn field_name<'a>(
    sets: &[&'a SelectionSet],
    doc: &'a ExecutableDocument,
    key: &str,
    below: &mut Vec<&'a SelectionSet>,
) -> Option<String> {
    let mut name = None;
    for set in sets {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) if field.node.response_key().node == key => {
                    name = Some(field.node.name.node.to_string());
                    below.push(&field.node.selection_set.node);
                }
                Selection::Field(_) => {}
                Selection::InlineFragment(f) => {
                    let inner = field_name(&[&f.node.selection_set.node], doc, key, below);
                    name = name.or(inner);
                }
                Selection::FragmentSpread(s) => {
                    if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                        let inner = field_name(&[&f.node.selection_set.node], doc, key, below);
                        name = name.or(inner);
                    }
                }
            }
        }
    }
    name
}

fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(item) => named(item),
    }
}

/// Sets the value at `path` to null, when its parent is still there.
fn set_null(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        *data = Value::Null;
        return;
    };
    let mut value = data;
    for segment in parents {
        value = match (value, segment) {
            (Value::Object(map), PathSegment::Field(key)) => match map.get_mut(key.as_str()) {
                Some(v) => v,
                None => return,
            },
            (Value::List(items), PathSegment::Index(i)) => match items.get_mut(*i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match (value, last) {
        (Value::Object(map), PathSegment::Field(key)) => {
            map.insert(async_graphql::Name::new(key), Value::Null);
        }
        (Value::List(items), PathSegment::Index(i)) => {
            if let Some(item) = items.get_mut(*i) {
                *item = Value::Null;
            }
        }
        _ => {}
    }
}
