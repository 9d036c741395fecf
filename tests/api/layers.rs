//! The layers of `src/`, declared once: a module may import from its own layer and the
//! layers below it, never from one above. Read from the source text, so the rule cannot
//! rot as code moves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every top-level module of the crate and its layer, the top first.
const LAYERS: &[(&str, &[&str])] = &[
    ("compose", &["main", "lib", "config"]),
    ("http", &["http", "server"]),
    ("graphql", &["graphql"]),
    ("domain", &["domain"]),
    ("db", &["db"]),
    ("base", &["auth", "clock", "error"]),
];

/// Layers that must not know the API's shape: no GraphQL or HTTP types below `graphql`.
const API_FREE: &[&str] = &["domain", "db", "base"];
const API_CRATES: &[&str] = &["async_graphql", "axum", "hyper", "tower"];

fn rank(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn layer_name(module: &str) -> &'static str {
    LAYERS[rank(module).expect("known module")].0
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/domain/roles.rs` is `domain`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// The code of a file without its comments (doc links are not imports).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file's code names through `crate::` (also `$crate::`,
/// `crate::{a, b}` and, in a top-level file, `super::`).
fn imports(code: &str, top_level_file: bool) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(inner.split(',').map(ident).filter(|s| !s.is_empty()));
        } else {
            found.insert(ident(rest));
        }
    }
    if top_level_file && code.contains("super::") {
        found.insert("lib".to_owned());
    }
    found.retain(|m| !m.is_empty());
    found
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "read only {} files", files.len());
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let own = rank(&module).unwrap_or_else(|| {
            panic!(
                "{module} (from {}) is in no layer: add it to LAYERS",
                file.display()
            )
        });
        let top_level_file = file.parent() == Some(src.as_path());
        let text = std::fs::read_to_string(file).unwrap();
        for target in imports(&code(&text), top_level_file) {
            // Items of the crate root are the compose layer's.
            let target_rank = rank(&target).unwrap_or(0);
            if target_rank < own {
                wrong.push(format!(
                    "{} ({}) imports {target} ({})",
                    file.strip_prefix(&src).unwrap().display(),
                    layer_name(&module),
                    LAYERS[target_rank].0
                ));
            }
        }
        if API_FREE.contains(&layer_name(&module)) {
            for api in API_CRATES {
                if code(&text).contains(&format!("{api}::")) {
                    wrong.push(format!("{} names {api}", file.display()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layer_check_sees_each_form_of_import() {
    let text = "use crate::{db::Conn, error::Error};\nlet x = $crate::domain::f();\nuse super::x;";
    let found = imports(text, true);
    let expected: BTreeSet<String> = ["db", "error", "domain", "lib"].map(String::from).into();
    assert_eq!(found, expected);
    assert!(imports("// crate::graphql::x\n", false).contains("graphql"));
    assert!(imports(&code("// crate::graphql::x\n"), false).is_empty());
}
