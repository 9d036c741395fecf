//! The exported SDL: checked in as `schema.graphql`, and a superset of the contract.

use std::collections::BTreeSet;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

/// Parts of the contract not yet served; each leaves this list when it works end to end.
const NOT_YET_SERVED: &[&str] = &[];

#[test]
fn schema_file_is_the_exported_sdl() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let sdl = roster::graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &sdl).unwrap();
    }
    let file = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        file == sdl,
        "schema.graphql is stale: run `UPDATE_SCHEMA=1 cargo test schema_file` and commit it"
    );
}

/// Every type, field, argument (with its type and default) and enum value of the
/// contract, as `Type.field(arg: Type = default): Type` lines.
fn signatures(sdl: &str) -> BTreeSet<String> {
    let doc = parse_schema(sdl).unwrap();
    let mut out = BTreeSet::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let t = t.node;
        let name = t.name.node.to_string();
        out.insert(name.clone());
        match t.kind {
            TypeKind::Object(o) => {
                for f in o.fields {
                    let f = f.node;
                    out.insert(format!("{name}.{}: {}", f.name.node, f.ty.node));
                    for a in f.arguments {
                        let a = a.node;
                        let default = a
                            .default_value
                            .map(|d| format!(" = {}", d.node))
                            .unwrap_or_default();
                        out.insert(format!(
                            "{name}.{}({}: {}{default})",
                            f.name.node, a.name.node, a.ty.node
                        ));
                    }
                }
            }
            TypeKind::InputObject(o) => {
                for f in o.fields {
                    let f = f.node;
                    let default = f
                        .default_value
                        .map(|d| format!(" = {}", d.node))
                        .unwrap_or_default();
                    out.insert(format!("{name}.{}: {}{default}", f.name.node, f.ty.node));
                }
            }
            TypeKind::Enum(e) => {
                for v in e.values {
                    out.insert(format!("{name}.{}", v.node.value.node));
                }
            }
            _ => {}
        }
    }
    out
}

fn contract() -> String {
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/contract.graphql");
    let vendored = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/contract.graphql");
    std::fs::read_to_string(shared)
        .or_else(|_| std::fs::read_to_string(vendored))
        .unwrap()
}

#[test]
fn schema_carries_every_type_field_and_argument_of_the_contract() {
    let ours = signatures(&roster::graphql::sdl());
    let pending = |s: &str| NOT_YET_SERVED.iter().any(|p| part_of(s, p));
    let missing: Vec<String> = signatures(&contract())
        .into_iter()
        .filter(|s| !ours.contains(s) && !pending(s))
        .collect();
    assert!(
        missing.is_empty(),
        "the schema lacks these parts of the contract:\n{}",
        missing.join("\n")
    );
    let served_early: Vec<&&str> = NOT_YET_SERVED
        .iter()
        .filter(|p| ours.iter().any(|s| part_of(s, p)))
        .collect();
    assert!(
        served_early.is_empty(),
        "served now, take them off NOT_YET_SERVED: {served_early:?}"
    );
}

/// Whether signature `s` belongs to the type or field `p`.
fn part_of(s: &str, p: &str) -> bool {
    s == p
        || [".", "(", ":"]
            .iter()
            .any(|sep| s.starts_with(&format!("{p}{sep}")))
}
