//! Spellings of older clients, mapped to the schema's.
//!
//! graphql-js 15's standard introspection query asks `__Type.specifiedByUrl`, which
//! graphql-js 16 and the spec renamed `specifiedByURL` (the one async-graphql serves).
//! Tools built on 15 (older GraphiQL, Apollo and codegen releases) would fail with
//! "Unknown field"; the field is asked under the new name and answered under the old.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

const OLD: &str = "specifiedByUrl";
const NEW: &str = "specifiedByURL";

/// Renames every `specifiedByUrl` selection of `doc`, keeping its response key;
/// whether there was one.
pub fn rename_old_fields(doc: &mut ExecutableDocument) -> bool {
    let mut renamed = false;
    match &mut doc.operations {
        DocumentOperations::Single(op) => renamed |= rename(&mut op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => {
            for op in ops.values_mut() {
                renamed |= rename(&mut op.node.selection_set.node);
            }
        }
    }
    for fragment in doc.fragments.values_mut() {
        renamed |= rename(&mut fragment.node.selection_set.node);
    }
    renamed
}

fn rename(set: &mut SelectionSet) -> bool {
    let mut renamed = false;
    for item in &mut set.items {
        match &mut item.node {
            Selection::Field(field) => {
                let field = &mut field.node;
                if field.name.node == OLD {
                    let pos = field.name.pos;
                    field
                        .alias
                        .get_or_insert(Positioned::new(Name::new(OLD), pos));
                    field.name.node = Name::new(NEW);
                    renamed = true;
                }
                renamed |= rename(&mut field.selection_set.node);
            }
            Selection::InlineFragment(f) => renamed |= rename(&mut f.node.selection_set.node),
            Selection::FragmentSpread(_) => {}
        }
    }
    renamed
}
