//! The two GraphQL schemas, as clients see them, are committed in `schema/`: a renamed field, a
//! changed type or nullability fails here before it reaches a storefront. After an intended
//! change, `BLESS=1 cargo test --test it schema` rewrites the files; commit them with it.

use crate::support::*;
use std::path::PathBuf;
use storekey::api::AppState;

#[tokio::test]
async fn the_commerce_schema_is_the_committed_one() {
    let s = TestServer::start().await;
    let state = AppState::new(s.auth().clone(), std::sync::Arc::new(s.config.clone()));
    check_schema("commerce.graphql", &state.commerce.sdl());
}

#[tokio::test]
async fn the_storefront_schema_is_the_committed_one() {
    let s = TestServer::start().await;
    let state = AppState::new(s.auth().clone(), std::sync::Arc::new(s.config.clone()));
    check_schema("storefront.graphql", &state.storefront.sdl());
}

fn check_schema(name: &str, built: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, built).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("schema/{name}: {e} (`BLESS=1 cargo test --test it schema` writes it)")
    });
    if committed != built {
        panic!(
            "the built schema differs from schema/{name} (- committed, + built):\n{}\n\
             If the change is intended, run `BLESS=1 cargo test --test it schema` and commit schema/.",
            line_diff(&committed, built)
        );
    }
}

/// The lines that differ, as `-`/`+` lines with their line numbers (a longest-common-subsequence
/// diff, so one renamed field shows as one line out and one line in).
fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("-{:>5} {}", i + 1, a[i]));
            i += 1;
        } else {
            out.push(format!("+{:>5} {}", j + 1, b[j]));
            j += 1;
        }
    }
    out.join("\n")
}

#[test]
fn the_diff_shows_a_renamed_field_as_one_line_out_and_one_in() {
    let old = "type Customer {\n  email: String\n  firstname: String\n}\n";
    let new = "type Customer {\n  email: String!\n  firstname: String\n}\n";
    assert_eq!(
        line_diff(old, new),
        "-    2   email: String\n+    2   email: String!"
    );
}
