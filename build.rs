//! Rebuilds when a migration is added or changed: `embed_migrations!` reads the
//! `migrations/` folder at compile time, and cargo does not watch it otherwise.
//! Joins the frontend documents of `operations/` into one file the console loads, so
//! the console sends exactly the operations a frontend team can copy.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=operations");
    let mut files: Vec<_> = std::fs::read_dir("operations")
        .expect("operations/ exists")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "graphql"))
        .collect();
    files.sort();
    let mut joined = String::new();
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        joined += &std::fs::read_to_string(&path).expect("a readable document");
        joined.push('\n');
    }
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("operations.graphql"), joined)
        .expect("OUT_DIR is writable");
}
