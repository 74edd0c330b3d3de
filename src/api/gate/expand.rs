//! What async-graphql's validation will visit once a document's fragments are spread. Its
//! visitors walk every selection (a field, an inline fragment or a spread) and, for complexity
//! and depth, walk each spread fragment again where it is spread: a fragment spreading another
//! twice doubles the work per level. The count here is an upper bound of those visits, computed
//! once per fragment, so a bomb is refused before validation starts.

use super::Refusal;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::parser::Positioned;
use std::collections::{HashMap, HashSet};

/// Spreads of fragments the document does not define, as async-graphql's validation words them
/// (`Unknown fragment: "F"`, at the spread), in the order they stand. The gate answers them
/// without validating: an undefined fragment ends in this error whatever else the document does.
pub fn undefined_fragments(doc: &ExecutableDocument) -> Vec<async_graphql::ServerError> {
    let mut found = Vec::new();
    let sets = doc
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set)
        .chain(doc.fragments.values().map(|f| &f.node.selection_set));
    for set in sets {
        let mut pending: Vec<&SelectionSet> = vec![&set.node];
        while let Some(set) = pending.pop() {
            for item in &set.items {
                match &item.node {
                    Selection::Field(f) => pending.push(&f.node.selection_set.node),
                    Selection::InlineFragment(f) => pending.push(&f.node.selection_set.node),
                    Selection::FragmentSpread(s) => {
                        let name = &s.node.fragment_name.node;
                        if !doc.fragments.contains_key(name) {
                            found.push((
                                item.pos,
                                async_graphql::ServerError::new(
                                    format!("Unknown fragment: \"{name}\""),
                                    Some(item.pos),
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
    found.sort_by_key(|(pos, _)| (pos.line, pos.column));
    found.into_iter().map(|(_, e)| e).collect()
}

/// How many selections (fields, inline fragments and spreads) the document holds once every
/// spread is replaced by its fragment: every operation and every fragment definition
/// (validation visits both), each fragment's size computed once. Saturating; a cycle of
/// spreads is refused; a spread of an undefined fragment counts as itself. Iterative, so a long
/// chain of fragments cannot deepen the stack.
pub fn expanded_size(doc: &ExecutableDocument) -> Result<u64, Refusal> {
    // Each fragment: its own selections, and the fragments it spreads with their counts.
    let shapes: HashMap<&str, Shape> = doc
        .fragments
        .iter()
        .map(|(name, f)| (name.as_str(), shape(&f.node.selection_set)))
        .collect();
    let mut sizes: HashMap<&str, u64> = HashMap::with_capacity(shapes.len());
    let mut in_progress: HashSet<&str> = HashSet::new();
    // In name order, so which fragment a cycle is reported at does not vary between runs.
    let mut names: Vec<&str> = shapes.keys().copied().collect();
    names.sort_unstable();
    for start in names {
        if sizes.contains_key(start) {
            continue;
        }
        // (fragment, its spreads already pushed)
        let mut stack: Vec<(&str, bool)> = vec![(start, false)];
        while let Some((name, expanded)) = stack.pop() {
            let Some(s) = shapes.get(name) else { continue };
            if expanded {
                let size = s.size(&sizes);
                in_progress.remove(name);
                sizes.insert(name, size);
                continue;
            }
            if sizes.contains_key(name) {
                continue;
            }
            if !in_progress.insert(name) {
                return Err(Refusal::FragmentCycle {
                    fragment: name.to_string(),
                });
            }
            stack.push((name, true));
            for dep in s.spreads.keys() {
                if in_progress.contains(dep) {
                    return Err(Refusal::FragmentCycle {
                        fragment: dep.to_string(),
                    });
                }
                if !sizes.contains_key(dep) {
                    stack.push((dep, false));
                }
            }
        }
    }
    let operations = doc
        .operations
        .iter()
        .map(|(_, op)| shape(&op.node.selection_set).size(&sizes))
        .fold(0u64, u64::saturating_add);
    Ok(sizes.values().fold(operations, |a, b| a.saturating_add(*b)))
}

/// A selection set's own selections (at every nesting level, spreads included) and the
/// fragments it spreads, by count.
struct Shape<'a> {
    selections: u64,
    spreads: HashMap<&'a str, u64>,
}

impl Shape<'_> {
    /// Its own selections plus, for each spread, the spread fragment's size (0 for a fragment
    /// not defined, or not sized yet).
    fn size(&self, sizes: &HashMap<&str, u64>) -> u64 {
        self.spreads.iter().fold(self.selections, |acc, (dep, n)| {
            acc.saturating_add(sizes.get(dep).copied().unwrap_or(0).saturating_mul(*n))
        })
    }
}

fn shape(set: &Positioned<SelectionSet>) -> Shape<'_> {
    let mut out = Shape {
        selections: 0,
        spreads: HashMap::new(),
    };
    let mut pending: Vec<&SelectionSet> = vec![&set.node];
    while let Some(set) = pending.pop() {
        for item in &set.items {
            out.selections = out.selections.saturating_add(1);
            match &item.node {
                Selection::Field(f) => pending.push(&f.node.selection_set.node),
                Selection::InlineFragment(f) => pending.push(&f.node.selection_set.node),
                Selection::FragmentSpread(s) => {
                    let n = out
                        .spreads
                        .entry(s.node.fragment_name.node.as_str())
                        .or_insert(0);
                    *n = n.saturating_add(1);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).unwrap()
    }

    fn size(q: &str) -> Result<u64, Refusal> {
        expanded_size(&doc(q))
    }

    #[test]
    fn expanded_size_counts_every_selection_with_fragments_spread() {
        assert_eq!(size("{ a b { c } }"), Ok(3));
        // op: a, the spread, the inline fragment, its spread = 4, plus 2 × f (2) = 8;
        // fragment f: 2.
        assert_eq!(
            size("{ a ...f ... on Q { ...f } } fragment f on Q { b c }"),
            Ok(10)
        );
        // An undefined fragment's spread counts as itself.
        assert_eq!(size("{ ...missing }"), Ok(1));
    }

    #[test]
    fn a_fragment_bomb_saturates_instead_of_overflowing() {
        let mut q = String::from("{ ...f80 } fragment f0 on Q { a }\n");
        for i in 1..=80 {
            q.push_str(&format!(
                "fragment f{i} on Q {{ ...f{p} ...f{p} }}\n",
                p = i - 1
            ));
        }
        assert_eq!(size(&q), Ok(u64::MAX));
    }

    #[test]
    fn a_bomb_over_an_undefined_fragment_is_counted() {
        // The bomb of issue 22: nothing but spreads, the innermost of a fragment that does
        // not exist. Counting fields alone gave 0.
        let mut q = String::from("{ ...F26 } fragment F0 on Query { ...Nope }\n");
        for i in 1..=26 {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{p} ...F{p} }}\n",
                p = i - 1
            ));
        }
        assert!(size(&q).unwrap() > 1 << 26);
        let unknown = undefined_fragments(&doc(&q));
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].message, "Unknown fragment: \"Nope\"");
        assert_eq!(unknown[0].locations[0].line, 1);
    }

    #[test]
    fn undefined_fragments_are_listed_where_they_stand() {
        let unknown = undefined_fragments(&doc(
            "query Y { a { ...B } ...A }\nfragment F on Q { ... on Q { ...C } }\nquery Z { ...F }",
        ));
        let messages: Vec<_> = unknown.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Unknown fragment: \"B\"",
                "Unknown fragment: \"A\"",
                "Unknown fragment: \"C\""
            ]
        );
        assert!(undefined_fragments(&doc("{ ...F } fragment F on Q { a }")).is_empty());
    }

    #[test]
    fn fragment_cycles_are_refused() {
        assert!(matches!(
            size("{ ...a } fragment a on Q { ...b } fragment b on Q { x ...a }"),
            Err(Refusal::FragmentCycle { .. })
        ));
        assert!(matches!(
            size("{ ...a } fragment a on Q { x { ...a } }"),
            Err(Refusal::FragmentCycle { .. })
        ));
        // A diamond is not a cycle: op 1 + a (2 + b 2 + c 2) … each fragment counted once more
        // where it is defined.
        let d = 1; // d: x
        let b = 1 + d; // b: the spread + d
        let c = 1 + d;
        let a = 2 + b + c; // a: two spreads + b + c
        let op = 1 + a;
        assert_eq!(
            size("{ ...a } fragment a on Q { ...b ...c } fragment b on Q { ...d } fragment c on Q { ...d } fragment d on Q { x }"),
            Ok(op + a + b + c + d)
        );
    }

    #[test]
    fn a_long_fragment_chain_does_not_deepen_the_stack() {
        let mut q = String::from("{ ...f5000 } fragment f0 on Q { a }\n");
        for i in 1..=5000 {
            q.push_str(&format!("fragment f{i} on Q {{ ...f{p} }}\n", p = i - 1));
        }
        // Fragment fi holds i spreads and a: i + 1; the operation 5002; all together
        // Σ(i + 1) for i in 0..=5000 plus 5002.
        let fragments: u64 = (0..=5000u64).map(|i| i + 1).sum();
        assert_eq!(size(&q), Ok(fragments + 5002));
    }
}
