//! Limits on the shape of an operation, checked right after parsing, before anything
//! runs: depth, aliases, root fields and fields in all.

use std::collections::HashSet;

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensionValues, Name, Positioned, ServerError, ServerResult, Value};

/// The limits; each names its configuration variable in the error it causes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest nesting of fields (`ROSTER_MAX_DEPTH`).
    pub max_depth: usize,
    /// Most aliased fields (`ROSTER_MAX_ALIASES`).
    pub max_aliases: usize,
    /// Most fields at the root of an operation (`ROSTER_MAX_ROOT_FIELDS`).
    pub max_root_fields: usize,
    /// Most fields in all, fragments expanded (`ROSTER_MAX_FIELDS`).
    pub max_fields: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_depth: 10,
            max_aliases: 20,
            max_root_fields: 10,
            max_fields: 400,
        }
    }
}

/// What an operation adds up to.
#[derive(Default)]
struct Shape {
    root_fields: usize,
    depth: usize,
    aliases: usize,
    fields: usize,
}

struct Walk<'a> {
    fragments: &'a std::collections::HashMap<Name, Positioned<FragmentDefinition>>,
    shape: Shape,
    /// Stop early on absurd input: nothing past this matters.
    budget: usize,
}

impl Walk<'_> {
    fn selections(&mut self, set: &SelectionSet, depth: usize, seen: &mut HashSet<Name>) {
        for item in &set.items {
            if self.shape.fields > self.budget {
                return;
            }
            match &item.node {
                Selection::Field(field) => {
                    self.shape.fields += 1;
                    self.shape.root_fields += usize::from(depth == 0);
                    self.shape.aliases += usize::from(field.node.alias.is_some());
                    self.shape.depth = self.shape.depth.max(depth + 1);
                    self.selections(&field.node.selection_set.node, depth + 1, seen);
                }
                Selection::InlineFragment(fragment) => {
                    self.selections(&fragment.node.selection_set.node, depth, seen)
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    // A fragment that includes itself is invalid; validation reports it.
                    if let Some(fragment) = self.fragments.get(name)
                        && seen.insert(name.clone())
                    {
                        self.selections(&fragment.node.selection_set.node, depth, seen);
                        seen.remove(name);
                    }
                }
            }
        }
    }
}

fn refuse(limit: &str, variable: &str, found: usize, max: usize) -> ServerError {
    let mut error = ServerError::new(
        format!("the operation exceeds the {limit} limit: {found} > {max} (set by {variable})"),
        None,
    );
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", "QUERY_LIMIT_EXCEEDED");
    extensions.set("limit", Value::from(limit));
    error.extensions = Some(extensions);
    error
}

impl QueryLimits {
    /// Checks every operation of `doc` against the limits.
    pub fn check(&self, doc: &ExecutableDocument) -> ServerResult<()> {
        for (_, operation) in doc.operations.iter() {
            let root = &operation.node.selection_set.node;
            let mut walk = Walk {
                fragments: &doc.fragments,
                shape: Shape::default(),
                budget: self.max_fields,
            };
            walk.selections(root, 0, &mut HashSet::new());
            let checks = [
                (
                    "root fields",
                    "ROSTER_MAX_ROOT_FIELDS",
                    walk.shape.root_fields,
                    self.max_root_fields,
                ),
                (
                    "alias",
                    "ROSTER_MAX_ALIASES",
                    walk.shape.aliases,
                    self.max_aliases,
                ),
                (
                    "depth",
                    "ROSTER_MAX_DEPTH",
                    walk.shape.depth,
                    self.max_depth,
                ),
                (
                    "field count",
                    "ROSTER_MAX_FIELDS",
                    walk.shape.fields,
                    self.max_fields,
                ),
            ];
            if let Some((limit, var, found, max)) =
                checks.into_iter().find(|(_, _, found, max)| found > max)
            {
                return Err(refuse(limit, var, found, max));
            }
        }
        Ok(())
    }
}
