//! The shape of the source tree, checked: no import cycle between its files (data flows one
//! way, DESIGN.md), and no file with more than 800 lines before its tests (one concept per
//! file). Paths are read from the text of `src/` (`crate::`, `super::`, `self::` and
//! `slipstream::` paths, `use` groups included), which is what a reader of the code follows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Non-test lines a file may hold.
const MAX_LINES: usize = 800;

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's module path (`data::layouts::described`; `lib.rs` is the crate, `main.rs` "main"),
/// and whether it is a `mod.rs`-like file whose `self` is itself.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The file's text before its inline unit tests (a `mod tests;` declaration kept in its own
/// file does not end the code around it).
fn code(text: &str) -> &str {
    let end = text.find("#[cfg(test)]\nmod tests {").unwrap_or(text.len());
    &text[..end]
}

/// `code` without its comments: a doc link to another module is a pointer for the reader, not an
/// import.
fn without_comments(code: &str) -> String {
    code.lines()
        .map(|line| line.find("//").map_or(line, |k| &line[..k]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths a file's code names, as written (`crate::mesh::Mesh`, `super::grammar`,
/// `slipstream::data`), with `use` groups expanded one level.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let starts = ["crate::", "super::", "self::", "slipstream::"]
            .iter()
            .any(|p| code[i..].starts_with(p));
        if !starts || (i > 0 && (is_ident(bytes[i - 1]) || bytes[i - 1] == b':')) {
            i += 1;
            continue;
        }
        // Segments joined by `::`, stopping at a group `{…}` or anything else.
        let mut segments = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            if start == j {
                break;
            }
            segments.push(code[start..j].to_string());
            if code[j..].starts_with("::") {
                j += 2;
            } else {
                break;
            }
        }
        if code[j..].starts_with('{') {
            // The group's items at its own level (nested groups are kept to their lead path).
            let mut depth = 0usize;
            let mut close = code.len();
            let mut items = Vec::new();
            let mut item_start = j + 1;
            for (k, c) in code[j..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            close = j + k;
                            items.push(&code[item_start..close]);
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        items.push(&code[item_start..j + k]);
                        item_start = j + k + 1;
                    }
                    _ => {}
                }
            }
            for item in items {
                let mut path = segments.clone();
                for segment in item.trim().split("::") {
                    let ident: String = segment
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if ident.is_empty() || ident != segment.trim() || ident == "self" {
                        break;
                    }
                    path.push(ident);
                }
                paths.push(path);
            }
            j = close;
        } else {
            paths.push(segments);
        }
        i = j.max(i + 1);
    }
    paths
}

/// The file a path names: the longest prefix that is a module of the crate.
fn resolve(
    from: &[String],
    path: &[String],
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let mut base: Vec<String> = Vec::new();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") | Some("slipstream") => rest = &path[1..],
        Some("self") => {
            base = from.to_vec();
            rest = &path[1..];
        }
        Some("super") => {
            base = from.to_vec();
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    let full: Vec<String> = base.into_iter().chain(rest.iter().cloned()).collect();
    (1..=full.len())
        .rev()
        .map(|k| full[..k].to_vec())
        .find(|m| modules.contains(m))
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in &s.edges[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn source() -> (PathBuf, Vec<(PathBuf, String)>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let texts = files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect();
    (src, texts)
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let (src, files) = source();
    // The binary's files (`main.rs`, `cli/`) name the library as `slipstream::`, not `crate::`.
    let library: Vec<&(PathBuf, String)> = files
        .iter()
        .filter(|(f, _)| {
            let rel = f.strip_prefix(&src).unwrap();
            !(rel.starts_with("cli") || rel == Path::new("main.rs"))
        })
        .collect();
    let modules: BTreeSet<Vec<String>> = library.iter().map(|(f, _)| module_of(&src, f)).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (file, text) in &library {
        let from = module_of(&src, file);
        let targets = edges.entry(from.clone()).or_default();
        for path in named_paths(&without_comments(code(text))) {
            if let Some(to) = resolve(&from, &path, &modules) {
                // A module naming its own parent's items (`super::X` in a child) or a child is
                // the module tree, not an import between files.
                let nested = to.starts_with(&from) || from.starts_with(&to);
                if !nested {
                    targets.insert(to);
                }
            }
        }
    }
    assert!(
        edges.values().map(BTreeSet::len).sum::<usize>() > 100,
        "the import graph looks empty: the path reader is broken"
    );
    let found = cycles(&edges);
    assert!(found.is_empty(), "files that import each other: {found:?}");
    // Between top-level modules too: the data flow runs one way.
    let mut top: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, tos) in &edges {
        let a = from.first().cloned().into_iter().collect::<Vec<_>>();
        let entry = top.entry(a.clone()).or_default();
        for to in tos {
            let b: Vec<String> = to.first().cloned().into_iter().collect();
            if b != a && !b.is_empty() && !a.is_empty() {
                entry.insert(b);
            }
        }
    }
    for tos in top.clone().values() {
        for to in tos {
            top.entry(to.clone()).or_default();
        }
    }
    let found = cycles(&top);
    assert!(
        found.is_empty(),
        "top-level modules that import each other: {found:?}"
    );
}

#[test]
fn the_path_reader_finds_a_cycle_when_there_is_one() {
    // Two made-up files that import each other, through a `use` group and a `super::` path.
    let modules: BTreeSet<Vec<String>> = [vec!["a".to_string()], vec!["a".into(), "b".into()]]
        .into_iter()
        .chain([vec!["c".to_string()]])
        .collect();
    let from_b = vec!["a".to_string(), "b".to_string()];
    let paths_b = named_paths("use crate::{c::Thing, rng};\n");
    let paths_c = named_paths("fn f() { super::a::b::run() }");
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for p in paths_b {
        if let Some(to) = resolve(&from_b, &p, &modules) {
            edges.entry(from_b.clone()).or_default().insert(to);
        }
    }
    for p in paths_c {
        if let Some(to) = resolve(&["c".to_string()], &p, &modules) {
            edges.entry(vec!["c".to_string()]).or_default().insert(to);
        }
    }
    for m in &modules {
        edges.entry(m.clone()).or_default();
    }
    assert_eq!(
        cycles(&edges),
        vec![vec!["a::b".to_string(), "c".to_string()]]
    );
}

#[test]
fn no_file_holds_more_than_800_lines_before_its_tests() {
    let (src, files) = source();
    let long: Vec<String> = files
        .iter()
        .map(|(f, text)| (f, code(text).lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(f, n)| format!("{} ({n} lines)", f.strip_prefix(&src).unwrap().display()))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines of code: {long:?}"
    );
}
