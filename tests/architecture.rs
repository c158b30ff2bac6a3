//! The house rules that keep the code easy to live in, checked on every `cargo test`:
//!
//! - imports go one way, down the layers of docs/architecture.md: the edges (`http/`,
//!   `ws/`) → `app/` → `actors/`, `documents/`, `media/`, `messaging/` → `store/`,
//!   `security/`, `bus/` → `domain/` → the foundation (`config`, `sync`, `qr`);
//! - no import circle between files, whatever their layers;
//! - no source file is over 900 lines;
//! - every actix test runs on `atende::runtime::System` (see that module for why).
//!
//! The import scan reads `use` trees and inline `crate::`/`super::`/`self::` paths with
//! comments, string literals and `#[cfg(test)]` modules removed, and resolves each path to
//! the deepest source file it names.

#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer; a file may import its own layer or lower ones.
const LAYERS: &[(&str, u8)] = &[
    // The composition root: wires everything together.
    ("main", 6),
    ("lib", 6),
    ("startup", 6),
    ("demo", 6),
    ("telemetry", 6),
    // The edges: parse, authenticate, call one use case, map the result.
    ("http", 5),
    ("ws", 5),
    // Use cases: authorization, one transaction, audit inside it, events after commit.
    ("app", 4),
    // Live state and the engines the use cases drive.
    ("actors", 3),
    ("documents", 3),
    ("media", 3),
    ("messaging", 3),
    ("billing", 3),
    // Storage, security primitives, the event bus.
    ("store", 2),
    ("security", 2),
    ("bus", 2),
    // Pure types and rules.
    ("domain", 1),
    // Foundation: settings and small helpers anything may use.
    ("config", 0),
    ("sync", 0),
    ("qr", 0),
    ("clock", 0),
    ("runtime", 0),
];

const MAX_LINES: usize = 900;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "node_modules" || name == "target" {
            continue;
        }
        if path.is_dir() {
            files_under(&path, exts, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
        {
            out.push(path);
        }
    }
}

/// `src/actors/agenda/mod.rs` → `["actors", "agenda"]`; `src/lib.rs` → `["lib"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The source with comments, string/char literals and `#[cfg(test)]` items blanked out.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(b.len(), |n| i + n + 2);
            i = end;
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].chars().take_while(|c| *c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let start = 1 + hashes + 1;
            let end = rest[start..]
                .find(&close)
                .map_or(b.len(), |n| i + start + n + close.len());
            out.push_str("\"\"");
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i = j + 1;
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('a', '\n', '\''); lifetimes ('a) have no closing quote.
            let end = text[i + 2..].find('\'').map_or(b.len(), |n| i + 2 + n + 1);
            out.push_str("' '");
            i = end;
        } else {
            let ch = rest.chars().next().expect("non-empty");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    strip_test_modules(&out)
}

/// Remove `#[cfg(test)]` items (their braces balanced): tests may import anything.
fn strip_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find(['{', ';']) else {
            break;
        };
        if after.as_bytes()[open] == b';' {
            rest = &after[open + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Expand a `use` tree (`crate::a::{b, c::{d, e}}`) into its leaf paths.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    // Keep one space only between two words (`e as f`), none around punctuation.
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut tree = String::new();
    for w in words {
        let word_end = tree
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let word_start = w
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word_end && word_start {
            tree.push(' ');
        }
        tree.push_str(w);
    }
    fn rec(prefix: &[String], s: &str, out: &mut Vec<Vec<String>>) {
        let Some(open) = s.find('{') else {
            let mut p = prefix.to_vec();
            p.extend(
                s.split("::")
                    .filter(|x| !x.is_empty())
                    .map(|x| x.split(" as ").next().unwrap_or(x).to_string()),
            );
            out.push(p);
            return;
        };
        let mut p = prefix.to_vec();
        p.extend(
            s[..open]
                .split("::")
                .filter(|x| !x.is_empty())
                .map(str::to_string),
        );
        let body = &s[open + 1..s.rfind('}').unwrap_or(s.len())];
        let (mut depth, mut start) = (0i32, 0usize);
        for (k, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    rec(&p, &body[start..k], out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        if start < body.len() {
            rec(&p, &body[start..], out);
        }
    }
    let mut out = Vec::new();
    rec(&[], &tree, &mut out);
    out
}

/// Every `crate::`/`super::`/`self::` path the code names, as segments.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before_ok = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        let tail = &rest[at + 4..];
        if before_ok && let Some(end) = tail.find(';') {
            out.extend(expand_use(&tail[..end]));
        }
        rest = tail;
    }
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(k) = code[from..].find(start) {
            let at = from + k;
            from = at + start.len();
            if at > 0 && ident(code[..at].chars().next_back().unwrap_or(' ')) {
                continue;
            }
            let tail = &code[at..];
            let len = tail
                .char_indices()
                .find(|(_, c)| !(ident(*c) || *c == ':'))
                .map_or(tail.len(), |(n, _)| n);
            let segs: Vec<String> = tail[..len]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            out.push(segs);
        }
    }
    out
}

struct Graph {
    /// Module path → file.
    files: BTreeMap<Vec<String>, PathBuf>,
    /// Importer → imported (both module paths of files).
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn graph() -> Graph {
    let src = root().join("src");
    let mut list = Vec::new();
    files_under(&src, &["rs"], &mut list);
    let files: BTreeMap<Vec<String>, PathBuf> = list
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let resolve = |segs: &[String]| -> Option<Vec<String>> {
        (1..=segs.len())
            .rev()
            .map(|n| segs[..n].to_vec())
            .find(|p| files.contains_key(p))
    };
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        let is_dir_module = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        // What `self::` means here, and what `super::` starts from.
        let own: Vec<String> = if file.ends_with("lib.rs") {
            Vec::new()
        } else {
            module.clone()
        };
        let parent: Vec<String> = if is_dir_module {
            own.clone()
        } else {
            own[..own.len().saturating_sub(1)].to_vec()
        };
        for segs in paths_in(&code_only(&text)) {
            let absolute: Vec<String> = match segs.first().map(String::as_str) {
                Some("crate") => segs[1..].to_vec(),
                Some("self") => own.iter().chain(&segs[1..]).cloned().collect(),
                Some("super") => {
                    let ups = segs.iter().take_while(|s| *s == "super").count();
                    let base = &parent[..parent.len().saturating_sub(ups - 1)];
                    base.iter().chain(&segs[ups..]).cloned().collect()
                }
                _ => continue,
            };
            if let Some(target) = resolve(&absolute)
                && &target != module
                && !(target.len() == 1 && target[0] == "lib")
            {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    Graph { files, edges }
}

fn layer(module: &[String]) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| module.first().is_some_and(|m| m == name))
        .map(|(_, l)| *l)
}

fn name(module: &[String]) -> String {
    module.join("::")
}

#[test]
fn every_top_level_module_has_a_layer() {
    let g = graph();
    let missing: BTreeSet<String> = g
        .files
        .keys()
        .filter(|m| layer(m).is_none())
        .map(|m| m[0].clone())
        .collect();
    assert!(
        missing.is_empty(),
        "give these modules a layer in tests/architecture.rs and docs/architecture.md: {missing:?}"
    );
}

#[test]
fn no_module_imports_a_higher_layer() {
    let g = graph();
    let mut bad = Vec::new();
    for (from, tos) in &g.edges {
        for to in tos {
            if let (Some(a), Some(b)) = (layer(from), layer(to))
                && a < b
            {
                bad.push(format!(
                    "{} (layer {a}) imports {} (layer {b})",
                    name(from),
                    name(to)
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports must go down the layers (docs/architecture.md); a lower layer that must tell a \
         higher one something publishes an event or takes a trait object:\n  {}",
        bad.join("\n  ")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let g = graph();
    // Tarjan's strongly connected components; any component of two or more files is a circle.
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        circles: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.g.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(name(w));
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.circles.push(component);
            }
        }
    }
    let mut s = State {
        g: &g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        circles: Vec::new(),
    };
    for v in g.files.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    let circles: Vec<String> = s.circles.iter().map(|c| c.join(" ↔ ")).collect();
    assert!(
        circles.is_empty(),
        "these files import each other (move what they share to a third file, or let the lower \
         one publish an event / take a trait object):\n  {}",
        circles.join("\n  ")
    );
}

#[test]
fn no_source_file_is_over_900_lines() {
    let mut list = Vec::new();
    for dir in ["src", "tests", "examples", "web"] {
        files_under(
            &root().join(dir),
            &["rs", "js", "mjs", "css", "html"],
            &mut list,
        );
    }
    let mut long: Vec<String> = list
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > MAX_LINES).then(|| {
                format!(
                    "{} ({lines} lines)",
                    f.strip_prefix(root()).unwrap_or(f).display()
                )
            })
        })
        .collect();
    long.sort();
    assert!(
        long.is_empty(),
        "split these by responsibility (at most {MAX_LINES} lines a file):\n  {}",
        long.join("\n  ")
    );
}

/// On the plain actix system, a task holding a database connection as the system stops
/// panics in sqlx's destructor (`src/runtime.rs`).
#[test]
fn every_actix_test_runs_on_atendes_system() {
    let mut list = Vec::new();
    for dir in ["src", "tests", "benches", "examples"] {
        files_under(&root().join(dir), &["rs"], &mut list);
    }
    let plain = [
        "#[actix_web::test]",
        "#[actix_rt::test]",
        "#[actix::test]",
        "#[actix_web::rt::test]",
    ];
    let mut found: Vec<String> = Vec::new();
    for f in &list {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            if plain.iter().any(|p| line.trim() == *p) {
                found.push(format!(
                    "{}:{}",
                    f.strip_prefix(root()).unwrap_or(f).display(),
                    i + 1
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "use #[actix_web::rt::test(system = \"atende::runtime::System\")] at:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_scanner_sees_use_trees_and_inline_paths_but_not_comments_or_strings() {
    let code = code_only(
        "use crate::a::{b, c::{d, e as f}};\n// crate::hidden::x\nlet s = \"crate::str::y\";\n\
         let v = super::g::h(); #[cfg(test)] mod tests { use crate::t::u; }",
    );
    let found: BTreeSet<String> = paths_in(&code).iter().map(|p| p.join("::")).collect();
    for want in [
        "crate::a::b",
        "crate::a::c::d",
        "crate::a::c::e",
        "super::g::h",
    ] {
        assert!(found.contains(want), "{want} not in {found:?}");
    }
    for never in ["hidden", "str", "::t::"] {
        assert!(
            !found.iter().any(|p| p.contains(never)),
            "{never} should not be seen: {found:?}"
        );
    }
}
