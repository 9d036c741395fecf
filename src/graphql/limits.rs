//! Limits on the shape of a document, checked before anything recurses on it: the
//! nesting of its brackets (read from the text, before parsing), then depth, aliases,
//! root fields, fields and fragment spreads of each operation, fragments expanded.
//!
//! Every walk here is linear in the document: a fragment's cost is computed once and
//! reused at each spread, so a chain of fragments spreading the next twice costs its
//! length, not two to the power of it.

use std::collections::HashMap;

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensionValues, Name, Positioned, ServerError, ServerResult, Value};

/// Deepest nesting of brackets a document may have: selections, arguments, lists and
/// input objects alike. The parser, validation and these limits all recurse on it, so
/// it must stay far below what a worker thread's stack holds (about 1,500 levels).
pub const MAX_NESTING: usize = 64;

/// Deepest selection below `__schema` or `__type`, counted from that field. The
/// standard introspection queries of graphql-js nest 11 to 15 levels, mostly through
/// `ofType` chains, which cost nothing to answer; such a subtree counts as one level
/// against `ROSTER_MAX_DEPTH`, since nothing below it reaches the API's own types.
pub const MAX_INTROSPECTION_DEPTH: usize = 24;

/// Most list-of-types fields (`fields`, `inputFields`, `interfaces`, `possibleTypes`)
/// nested in one introspection subtree: each multiplies the answer by the schema's
/// size. graphql-js's `MaxIntrospectionDepthRule` refuses three, as here; the standard
/// queries nest one.
pub const MAX_INTROSPECTION_LISTS: usize = 2;

/// The limits; each names its configuration variable in the error it causes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest nesting of fields (`ROSTER_MAX_DEPTH`).
    pub max_depth: usize,
    /// Most aliased fields (`ROSTER_MAX_ALIASES`).
    pub max_aliases: usize,
    /// Most fields at the root of an operation (`ROSTER_MAX_ROOT_FIELDS`).
    pub max_root_fields: usize,
    /// Most fields in all, fragments expanded; fragment spreads are counted against
    /// the same number, and a document may write ten times as many selections
    /// (`ROSTER_MAX_FIELDS`).
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

/// What a selection set adds up to, its fragments expanded. Sums saturate: a
/// fragment graph can describe more fields than a `usize` counts.
#[derive(Clone, Copy, Default)]
struct Cost {
    /// Fields at the set's own level (through inline fragments and spreads).
    top: usize,
    /// Deepest field below the set, counted from it.
    depth: usize,
    aliases: usize,
    fields: usize,
    spreads: usize,
    /// Deepest introspection subtree, counted from its `__schema` or `__type`.
    introspection_depth: usize,
    /// Most list-of-types fields nested below the set (only introspection has them).
    type_lists: usize,
    /// Levels of sets and spreads below the set, fragments followed: the nesting a
    /// full walk would reach, known even where a fragment's cost was remembered.
    nests: usize,
}

/// Introspection's fields that answer a list of types or fields.
const TYPE_LISTS: &[&str] = &["fields", "inputFields", "interfaces", "possibleTypes"];

impl Cost {
    /// Adds what `inner`, spread or inlined at this set's level, brings.
    fn include(&mut self, inner: Cost) {
        self.top = self.top.saturating_add(inner.top);
        self.depth = self.depth.max(inner.depth);
        self.aliases = self.aliases.saturating_add(inner.aliases);
        self.fields = self.fields.saturating_add(inner.fields);
        self.spreads = self.spreads.saturating_add(inner.spreads);
        self.introspection_depth = self.introspection_depth.max(inner.introspection_depth);
        self.type_lists = self.type_lists.max(inner.type_lists);
        self.nests = self.nests.max(inner.nests.saturating_add(1));
    }
}

/// A fragment's cost, or `None` while it is being computed (a cycle, which
/// validation reports; it adds nothing here).
type Costs = HashMap<Name, Option<Cost>>;

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    costs: Costs,
}

/// Why a walk stopped: a set nests (through fragments) deeper than [`MAX_NESTING`].
struct TooDeep;

impl Walk<'_> {
    /// The cost of `set`, found at `nesting` levels of sets and spreads.
    fn set(&mut self, set: &SelectionSet, nesting: usize) -> Result<Cost, TooDeep> {
        if nesting > MAX_NESTING {
            return Err(TooDeep);
        }
        let mut cost = Cost::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let inner = self.set(&field.node.selection_set.node, nesting + 1)?;
                    let name = field.node.name.node.as_str();
                    cost.top = cost.top.saturating_add(1);
                    if name == "__schema" || name == "__type" {
                        cost.depth = cost.depth.max(1);
                        let depth = inner.depth.saturating_add(1);
                        cost.introspection_depth = cost.introspection_depth.max(depth);
                    } else {
                        cost.depth = cost.depth.max(inner.depth.saturating_add(1));
                    }
                    let lists = inner.type_lists + usize::from(TYPE_LISTS.contains(&name));
                    cost.type_lists = cost.type_lists.max(lists);
                    cost.introspection_depth =
                        cost.introspection_depth.max(inner.introspection_depth);
                    cost.aliases = cost
                        .aliases
                        .saturating_add(inner.aliases)
                        .saturating_add(usize::from(field.node.alias.is_some()));
                    cost.fields = cost.fields.saturating_add(inner.fields).saturating_add(1);
                    cost.spreads = cost.spreads.saturating_add(inner.spreads);
                    cost.nests = cost.nests.max(inner.nests.saturating_add(1));
                }
                Selection::InlineFragment(fragment) => {
                    cost.include(self.set(&fragment.node.selection_set.node, nesting + 1)?);
                }
                Selection::FragmentSpread(spread) => {
                    cost.spreads = cost.spreads.saturating_add(1);
                    let name = &spread.node.fragment_name.node;
                    cost.include(self.fragment(name, nesting + 1)?);
                }
            }
        }
        // The same answer whichever fragment was walked first: a remembered cost still
        // tells how deep its fragment nests.
        if nesting.saturating_add(cost.nests) > MAX_NESTING {
            return Err(TooDeep);
        }
        Ok(cost)
    }

    /// The cost of the fragment `name` (nothing when it is unknown or in a cycle:
    /// validation reports both), computed on its first spread only.
    fn fragment(&mut self, name: &Name, nesting: usize) -> Result<Cost, TooDeep> {
        match self.costs.get(name) {
            Some(known) => return Ok(known.unwrap_or_default()),
            None if !self.fragments.contains_key(name) => return Ok(Cost::default()),
            None => {}
        }
        let fragments = self.fragments;
        self.costs.insert(name.clone(), None);
        let cost = self.set(&fragments[name].node.selection_set.node, nesting)?;
        self.costs.insert(name.clone(), Some(cost));
        Ok(cost)
    }
}

fn refuse(limit: &str, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", "QUERY_LIMIT_EXCEEDED");
    extensions.set("limit", Value::from(limit));
    error.extensions = Some(extensions);
    error
}

/// `variable` is empty for a fixed limit.
fn exceeds(limit: &str, variable: &str, found: usize, max: usize) -> ServerError {
    let source = match variable {
        "" => "a fixed bound".to_owned(),
        variable => format!("set by {variable}"),
    };
    let message = format!("the operation exceeds the {limit} limit: {found} > {max} ({source})");
    refuse(limit, message)
}

fn too_deep() -> ServerError {
    let message = format!(
        "the document nests deeper than {MAX_NESTING} levels (selections, fragment spreads, \
         arguments, lists and input objects count alike)"
    );
    refuse("nesting", message)
}

/// Refuses `text` when its brackets nest deeper than [`MAX_NESTING`], reading it as
/// GraphQL's lexer would (strings, block strings and comments hold no brackets). Runs
/// before the parser, whose recursion on nested values is unbounded.
pub fn check_nesting(text: &str) -> ServerResult<()> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(too_deep());
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Selections written in `set` and below, not following spreads.
fn written(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => 1 + written(&field.node.selection_set.node),
            Selection::InlineFragment(f) => 1 + written(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 1,
        })
        .sum()
}

impl QueryLimits {
    /// Checks `doc`: every fragment (used or not, since validation walks each) and
    /// every operation against the limits, and its written size.
    pub fn check(&self, doc: &ExecutableDocument) -> ServerResult<()> {
        let max_written = self.max_fields.saturating_mul(10);
        let sets = doc
            .operations
            .iter()
            .map(|(_, op)| &op.node.selection_set.node)
            .chain(doc.fragments.values().map(|f| &f.node.selection_set.node));
        let total: usize = sets.map(written).sum();
        if total > max_written {
            let message = format!(
                "the document writes {total} selections, more than {max_written} \
                 (ten times ROSTER_MAX_FIELDS)"
            );
            return Err(refuse("document size", message));
        }
        let mut walk = Walk {
            fragments: &doc.fragments,
            costs: Costs::new(),
        };
        // Every fragment and operation is measured before any limit is applied, in
        // name order: the error is the same whatever order the parser kept them in.
        let mut fragments: Vec<_> = doc.fragments.iter().collect();
        fragments.sort_by(|a, b| a.0.cmp(b.0));
        let mut measured = Vec::new();
        for (name, fragment) in fragments {
            let mut cost = walk.fragment(name, 1).map_err(|TooDeep| too_deep())?;
            // A fragment on an introspection type is only spread below `__schema` or
            // `__type`, where its depth counts against the introspection bound.
            if fragment.node.type_condition.node.on.node.starts_with("__") {
                cost.introspection_depth = cost.introspection_depth.max(cost.depth);
                cost.depth = 0;
            }
            measured.push((cost, false));
        }
        let mut operations: Vec<_> = doc.operations.iter().collect();
        operations.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, operation) in operations {
            let root = &operation.node.selection_set.node;
            let cost = walk.set(root, 1).map_err(|TooDeep| too_deep())?;
            measured.push((cost, true));
        }
        for (cost, operation) in measured {
            self.within(cost, operation)?;
        }
        Ok(())
    }

    /// Checks one operation's (or fragment's) cost; a fragment's top fields are
    /// root fields only where it is spread at the root, so they count there.
    fn within(&self, cost: Cost, operation: bool) -> ServerResult<()> {
        let root_fields = if operation { cost.top } else { 0 };
        let checks = [
            (
                "root fields",
                "ROSTER_MAX_ROOT_FIELDS",
                root_fields,
                self.max_root_fields,
            ),
            (
                "alias",
                "ROSTER_MAX_ALIASES",
                cost.aliases,
                self.max_aliases,
            ),
            ("depth", "ROSTER_MAX_DEPTH", cost.depth, self.max_depth),
            (
                "introspection depth",
                "",
                cost.introspection_depth,
                MAX_INTROSPECTION_DEPTH,
            ),
            (
                "introspection lists",
                "",
                cost.type_lists,
                MAX_INTROSPECTION_LISTS,
            ),
            (
                "field count",
                "ROSTER_MAX_FIELDS",
                cost.fields,
                self.max_fields,
            ),
            (
                "fragment spreads",
                "ROSTER_MAX_FIELDS",
                cost.spreads,
                self.max_fields,
            ),
        ];
        match checks.into_iter().find(|(_, _, found, max)| found > max) {
            Some((limit, var, found, max)) => Err(exceeds(limit, var, found, max)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_read_past_strings_and_comments() {
        let deep = |n: usize| format!("{{ a(x: {}1{}) }}", "[".repeat(n), "]".repeat(n));
        assert!(check_nesting(&deep(MAX_NESTING - 2)).is_ok());
        assert!(check_nesting(&deep(MAX_NESTING)).is_err());
        let quoted = format!(
            "{{ a(x: \"{0}\\\"{0}\", y: \"\"\"{0}\\\"\"\"{0}\"\"\") # {0}\n }}",
            "[".repeat(500)
        );
        assert!(check_nesting(&quoted).is_ok(), "brackets in strings count");
    }
}
