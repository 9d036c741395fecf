//! Response keys in the order the operation selected them.
//!
//! async-graphql 7.2 resolves an object's fields concurrently and inserts each answer
//! as it completes (`do_resolve_container` drains a `FuturesUnordered`), so a field
//! that waits on the database comes after one that does not: `{ roles { id } me { id } }`
//! answered `me` first. GraphQL orders a response by the selection (CollectFields: first
//! appearance, through fragments). This puts every object of a response back in that
//! order; objects already in order, the usual case, are only compared.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Value};

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// The response keys of `sets` in order of first appearance, each with the selection
/// sets below it (fields answering one key merge theirs).
fn keys<'a>(
    sets: &[&'a SelectionSet],
    fragments: &'a Fragments,
) -> Vec<(&'a Name, Vec<&'a SelectionSet>)> {
    let mut keys: Vec<(&Name, Vec<&SelectionSet>)> = Vec::new();
    for set in sets {
        collect(set, fragments, &mut keys);
    }
    keys
}

fn collect<'a>(
    set: &'a SelectionSet,
    fragments: &'a Fragments,
    keys: &mut Vec<(&'a Name, Vec<&'a SelectionSet>)>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                let below = &field.node.selection_set.node;
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, sets)) => sets.push(below),
                    None => keys.push((key, vec![below])),
                }
            }
            Selection::InlineFragment(f) => collect(&f.node.selection_set.node, fragments, keys),
            // Validated documents have no cycles, and the limits bound their nesting.
            Selection::FragmentSpread(s) => {
                if let Some(f) = fragments.get(&s.node.fragment_name.node) {
                    collect(&f.node.selection_set.node, fragments, keys);
                }
            }
        }
    }
}

/// Orders `value`, the answer to `sets`, and everything below it.
fn order(value: &mut Value, sets: &[&SelectionSet], fragments: &Fragments) {
    match value {
        Value::List(items) => {
            let keys = keys(sets, fragments);
            for item in items {
                order_object(item, &keys, fragments);
            }
        }
        Value::Object(_) => order_object(value, &keys(sets, fragments), fragments),
        _ => {}
    }
}

fn order_object(value: &mut Value, keys: &[(&Name, Vec<&SelectionSet>)], fragments: &Fragments) {
    let Value::Object(map) = value else {
        if let Value::List(items) = value {
            items
                .iter_mut()
                .for_each(|item| order_object(item, keys, fragments));
        }
        return;
    };
    let wanted = keys
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| map.contains_key(*k));
    if !wanted.eq(map.keys()) {
        // `async_graphql::indexmap` is hidden from async-graphql's docs, but it is the
        // map type of `Value::Object` (checked against the pinned =7.2.1; see fast.rs).
        let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
        for (key, _) in keys {
            if let Some(v) = map.shift_remove(*key) {
                ordered.insert((*key).clone(), v);
            }
        }
        ordered.extend(std::mem::take(map));
        *map = ordered;
    }
    for (key, below) in keys {
        if let Some(v) = map.get_mut(*key)
            && below.iter().any(|set| !set.items.is_empty())
        {
            order(v, below, fragments);
        }
    }
}

/// Orders the data of a response to the operation `operation_name` of `doc`.
pub fn order_response(data: &mut Value, doc: &ExecutableDocument, operation_name: Option<&str>) {
    let operation = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    if let Some(op) = operation {
        order(data, &[&op.node.selection_set.node], &doc.fragments);
    }
}
