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

/// `text` with string and char literals emptied and comments cut, so braces count.
fn braces_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        '\n' => out.push('\n'),
                        _ => {}
                    }
                }
            }
            '\'' => {
                // A char literal ('x', '\n', '{'); a lifetime has no closing quote.
                let mut look = chars.clone();
                let first = look.next();
                let len = if first == Some('\\') {
                    look.next();
                    look.position(|c| c == '\'').map(|p| p + 3)
                } else {
                    (look.next() == Some('\'')).then_some(2)
                };
                for _ in 0..len.unwrap_or(0) {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Each function of `text` longer than `max` lines, as (name, first line, lines).
fn long_functions(text: &str, max: usize) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(at) = line.find("fn ") else { continue };
        let before = line[..at].trim();
        let head = ["", "pub", "async", "const", "unsafe"];
        let is_fn = before
            .split_whitespace()
            .all(|w| head.contains(&w) || w.starts_with("pub("));
        if !is_fn {
            continue;
        }
        let name: String = line[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut opened) = (0i32, false);
        for (end, body) in lines.iter().enumerate().skip(start) {
            for c in body.chars() {
                match c {
                    '{' => (depth, opened) = (depth + 1, true),
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if !opened && body.trim_end().ends_with(';') {
                break;
            }
            if opened && depth == 0 {
                if end - start + 1 > max {
                    found.push((name.clone(), start + 1, end - start + 1));
                }
                break;
            }
        }
    }
    found
}

/// Issue 12: long bodies are split where a name comes easily; none grows past 60 lines.
#[test]
fn no_function_is_longer_than_sixty_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut long = Vec::new();
    for file in &files {
        let text = braces_only(&std::fs::read_to_string(file).unwrap());
        for (name, line, length) in long_functions(&text, 60) {
            let file = file.strip_prefix(&src).unwrap().display();
            long.push(format!("{file}:{line} {name}: {length} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "functions over 60 lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_length_check_counts_bodies_not_literals() {
    let body = |n: usize| "    let x = '{';\n    let s = \"}}\";\n".repeat(n);
    let text = format!("pub async fn long() {{\n{}}}\nfn short() {{}}\n", body(30));
    let found = long_functions(&braces_only(&text), 60);
    assert_eq!(found, vec![("long".to_owned(), 1, 62)]);
    assert!(long_functions(&braces_only(&text), 62).is_empty());
    let lifetimes = braces_only("fn f<'a>(x: &'a str) -> char {\n'\\''\n}\n");
    assert_eq!(long_functions(&lifetimes, 1).len(), 1);
}

/// Issue 12: resolvers authenticate, map input, call the domain and map its output;
/// the domain opens connections and reads the clock.
#[test]
fn resolvers_neither_open_connections_nor_read_the_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src.join("graphql"), &mut files);
    let forbidden = [".clock", "pool.get(", "with_conn!", "transaction!"];
    let mut wrong = Vec::new();
    for file in &files {
        let text = code(&std::fs::read_to_string(file).unwrap());
        for what in forbidden {
            if text.contains(what) {
                wrong.push(format!("{} has {what}", file.display()));
            }
        }
    }
    assert!(files.len() > 10, "read only {} files", files.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
