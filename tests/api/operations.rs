//! The frontend's starting documents in `operations/` stay valid against the schema:
//! a breaking change to the schema fails here first.

use std::path::Path;

use apollo_compiler::{ExecutableDocument, Schema};

fn operations_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/operations"))
}

/// Every `.graphql` file of `operations/`, by name, in one text (they share fragments).
fn documents() -> (Vec<String>, String) {
    let mut names = Vec::new();
    let mut text = String::new();
    let mut entries: Vec<_> = std::fs::read_dir(operations_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .collect();
    entries.sort();
    for path in entries {
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
        text += &std::fs::read_to_string(&path).unwrap();
        text += "\n";
    }
    (names, text)
}

fn validate(sdl: &str, documents: &str) -> Result<usize, String> {
    let schema = Schema::parse_and_validate(sdl, "schema.graphql").map_err(|e| e.to_string())?;
    let doc = ExecutableDocument::parse_and_validate(&schema, documents, "operations")
        .map_err(|e| e.to_string())?;
    Ok(doc.operations.named.len() + usize::from(doc.operations.anonymous.is_some()))
}

#[test]
fn every_operation_is_valid_against_the_schema() {
    let (names, text) = documents();
    let operations = validate(&roster::graphql::sdl(), &text).unwrap_or_else(|e| panic!("{e}"));
    assert!(operations >= 20, "{operations} operations in {names:?}");
    // The README's table names each screen's file, and each file is there.
    let readme = std::fs::read_to_string(operations_dir().join("README.md")).unwrap();
    for name in names.iter().filter(|n| *n != "fragments.graphql") {
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} is not in README"
        );
    }
}

#[test]
fn a_breaking_change_to_the_schema_fails_validation() {
    let (_, text) = documents();
    let renamed = roster::graphql::sdl().replace("lastLoginAt:", "lastSignInAt:");
    let error = validate(&renamed, &text).unwrap_err();
    assert!(error.contains("lastLoginAt"), "{error}");
}

/// Every GraphQL example of the README runs against the schema as written: each
/// fenced `graphql` block, each operation in it on its own.
#[test]
fn every_readme_example_is_valid_against_the_schema() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let sdl = roster::graphql::sdl();
    let mut checked = 0;
    for block in readme.split("```graphql\n").skip(1) {
        let block = block.split("```").next().unwrap();
        // Blocks hold several anonymous operations; each is validated alone.
        let mut start = 0;
        let bytes = block.as_bytes();
        let mut depth = 0;
        for (i, b) in bytes.iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        let op = &block[start..=i];
                        validate(&sdl, op).unwrap_or_else(|e| panic!("{e}\nin:\n{op}"));
                        checked += 1;
                        start = i + 1;
                    }
                }
                _ => {}
            }
        }
    }
    assert!(checked > 25, "{checked}");
}
