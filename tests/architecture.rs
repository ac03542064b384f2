//! The layering rules of docs/ARCHITECTURE.md, checked on the source: a rule broken here fails the build's tests,
//! so the document and the code cannot drift apart unnoticed.
//!
//! - the core never names egui or eframe (only `ui/` and the binary's `main.rs` do);
//! - nothing imports `ui` but the binary's `main.rs`;
//! - only the composition root (the binary: `main.rs`, the command-line verbs, and `app.rs`, which starts what the
//!   window runs) imports `sandbox`;
//! - nothing outside `channel/` names a protocol's `wire` or `sign` module (the sandbox, which plays the acquirers'
//!   side of the protocols, excepted);
//! - the command line lives in `cli/`, one file per verb: no `src/cli_*.rs` or `src/*_cli.rs`;
//! - the merchant backend's HTTP handlers (`serve/http.rs`) and the till's backend protocol (`channel/backend/`)
//!   name no database: they call the `serve::Backend` facade or speak HTTP, so the backend's persistence can move to
//!   PostgreSQL without touching them;
//! - the screens reach the core only through the command queue (`queue`): nothing in `ui/` names rusqlite, the
//!   database type or its connection, `std::fs`, argon2 or a thread of its own (the files not yet moved are listed,
//!   and the list may only shrink); and nothing in the core names the queue (only the window and the composition
//!   root do).

use std::path::{Path, PathBuf};

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

/// Every source file under src/, as (path relative to src/ with `/`, its code without comment lines).
fn code() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap();
            let code: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
            (rel, code.join("\n"))
        })
        .collect()
}

/// The files of the binary: `main.rs` and the command-line verbs.
fn in_binary(path: &str) -> bool {
    path == "main.rs" || path.starts_with("cli/")
}

fn breaking(rule: impl Fn(&str, &str) -> bool) -> Vec<String> {
    code().into_iter().filter(|(path, code)| rule(path, code)).map(|(path, _)| path).collect()
}

#[test]
fn the_core_never_names_egui() {
    let found = breaking(|path, code| {
        !path.starts_with("ui/") && path != "main.rs" && (code.contains("egui::") || code.contains("eframe::"))
    });
    assert!(found.is_empty(), "egui outside ui/: {found:?}");
}

#[test]
fn nothing_imports_the_ui_but_main() {
    let found = breaking(|path, code| {
        !path.starts_with("ui/") && path != "main.rs" && (code.contains("crate::ui") || code.contains("tilldesk::ui"))
    });
    assert!(found.is_empty(), "ui imported from: {found:?}");
}

#[test]
fn only_the_composition_root_imports_the_sandbox() {
    let found = breaking(|path, code| {
        !path.starts_with("sandbox/")
            && !in_binary(path)
            && path != "app.rs"
            && path != "lib.rs"
            && (code.contains("crate::sandbox") || code.contains("tilldesk::sandbox"))
    });
    assert!(found.is_empty(), "the sandbox imported from: {found:?}");
}

#[test]
fn wire_and_sign_stay_inside_the_channel() {
    let names = |code: &str| {
        ["::wire::", "::wire;", "::wire}", "wire::{", "::sign::", "::sign;", "::sign as", "sign::{"]
            .iter()
            .any(|n| code.contains(n))
    };
    let found = breaking(|path, code| !path.starts_with("channel/") && !path.starts_with("sandbox/") && names(code));
    assert!(found.is_empty(), "wire or sign named outside channel/: {found:?}");
}

#[test]
fn the_command_line_lives_in_cli() {
    let found: Vec<String> = code()
        .into_iter()
        .map(|(path, _)| path)
        .filter(|p| !p.contains('/') && (p.starts_with("cli_") || p.ends_with("_cli.rs")))
        .collect();
    assert!(found.is_empty(), "command-line files outside src/cli/: {found:?}");
}

#[test]
fn the_backend_api_and_its_client_name_no_database() {
    let found = breaking(|path, code| {
        (path == "serve/http.rs" || path.starts_with("channel/backend/"))
            && (code.contains("crate::store")
                || code.contains("rusqlite")
                || code.contains("Store::open")
                || code.contains("tokio_postgres")
                || code.contains("deadpool")
                || code.contains("PgStore"))
    });
    assert!(found.is_empty(), "a database named in the till API's handlers or client: {found:?}");
}

/// Whether `code` names `name` as a whole word at its end (`store::Store` but not `store::StoreError`).
fn names(code: &str, name: &str) -> bool {
    code.match_indices(name)
        .any(|(at, _)| !code[at + name.len()..].chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_'))
}

/// What a screen file must not name: the database and its connection, files, Argon2, threads of its own.
fn reaches_past_the_queue(code: &str) -> bool {
    [
        "rusqlite",
        "store::Store",
        "Store::open",
        "home.store",
        "&Store",
        "&mut Store",
        "std::fs",
        "fs::",
        "argon2",
        "thread::spawn",
        "thread::Builder",
    ]
    .iter()
    .any(|n| names(code, n))
}

#[test]
fn screens_reach_the_core_only_through_the_queue() {
    let found = breaking(|path, code| path.starts_with("ui/") && reaches_past_the_queue(code));
    assert!(found.is_empty(), "screens that reach the database, files or threads themselves: {found:?}");
}

#[test]
fn nothing_in_the_core_names_the_queue() {
    let found = breaking(|path, code| {
        !path.starts_with("ui/")
            && !path.starts_with("queue/")
            && !in_binary(path)
            && path != "app.rs"
            && path != "lib.rs"
            && (code.contains("crate::queue") || code.contains("tilldesk::queue"))
    });
    assert!(found.is_empty(), "the command queue named in the core: {found:?}");
}

#[test]
fn the_queue_names_no_egui() {
    let found =
        breaking(|path, code| path.starts_with("queue/") && (code.contains("egui") || code.contains("crate::ui")));
    assert!(found.is_empty(), "the queue names the window: {found:?}");
}

/// Rule 8 for PostgreSQL: its driver, its pool and its SQL live in `store/pg/` only (the backend's persistence
/// changes engine there, not in `serve/`, the HTTP layer or the till's client).
#[test]
fn postgresql_lives_in_the_store() {
    let found = breaking(|path, code| {
        !path.starts_with("store/pg/") && (code.contains("tokio_postgres") || code.contains("deadpool_postgres"))
    });
    assert!(found.is_empty(), "the PostgreSQL driver named outside store/pg/: {found:?}");
    let sql = breaking(|path, code| {
        path.starts_with("serve/")
            && ["SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "FOR UPDATE"].iter().any(|w| code.contains(w))
    });
    assert!(sql.is_empty(), "SQL written in serve/ (it belongs in store/): {sql:?}");
}
