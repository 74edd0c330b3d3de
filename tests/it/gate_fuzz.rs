//! The gate held against async-graphql itself (issue 22): grammar-aware generated documents —
//! strings and block strings with escapes, abandoned and unterminated ones, comments ended by
//! `\r`, `\r\n` or the end, BOMs, unicode escapes, deep values behind each, fragment graphs with
//! undefined, cyclic and duplicate names, unknown type conditions, `@skip`/`@include` — each
//! gated on a tokio worker's 2 MiB stack, then parsed again by async-graphql on a big stack and
//! measured by a naive recursive walk written here. The oracles: the bracket count the gate sizes
//! its stack by is at least the depth of the AST async-graphql builds; the gate refuses for depth
//! exactly when that depth passes the limit; its selection count is at least what a naive,
//! capped expander visits. Seeded: a failure names its seed and case.

use async_graphql::parser::types::{
    BaseType, Directive, ExecutableDocument, Selection, SelectionSet, Type,
};
use async_graphql::parser::Positioned;
use async_graphql_value::{ConstValue, Name, Value};
use storekey::api::gate::{expanded_size, parse, Gate, Refusal};
use storekey::auth::secret::SeededRandom;
use storekey::config::ServerConfig;

const CASES: usize = 2000;
const SEED: u64 = 0x22_6A7E;

/// The deepest document of each recursive construct that fits in `budget` bytes, closed and
/// left open: list and object values, selection sets, inline fragments, list types, default
/// values, directive arguments, and nesting behind an abandoned block string.
pub fn deepest_documents(budget: usize) -> Vec<String> {
    let shapes: [(&str, &str, &str, &str); 9] = [
        ("{ a(x: ", "[", "1", "]"),
        ("{ a(x: ", "{a:", "1", "}"),
        ("", "{a", "", "}"),
        ("{", "...on Q{", "a", "}"),
        ("query($v: ", "[", "Int", "]"),
        ("query($v: Int = ", "[", "1", "]"),
        ("{ a @d(x: ", "[", "1", "]"),
        ("query @d(x: ", "{a:", "1", "}"),
        ("{ a(x: [\"\"\"x\", ", "[", "\"a\"", "]"),
    ];
    let mut out = Vec::new();
    for (head, open, inner, close) in shapes {
        let levels = (budget - head.len() - inner.len()) / (open.len() + close.len());
        out.push(format!(
            "{head}{}{inner}{}",
            open.repeat(levels),
            close.repeat(levels)
        ));
        let levels = (budget - head.len() - inner.len()) / open.len();
        out.push(format!("{head}{}{inner}", open.repeat(levels)));
    }
    out
}

/// What the gate answered, kept to compare.
#[derive(Debug)]
enum Verdict {
    Admitted,
    /// async-graphql's own errors, answered by the gate (syntax, undefined fragments).
    Errors(Vec<String>),
    Refused(Refusal),
}

fn gate_all(gate: Gate, docs: Vec<String>) -> Vec<Verdict> {
    docs.into_iter()
        .map(
            |q| match gate.admit(async_graphql::Request::new(q.clone())) {
                Ok(a) if a.errors.is_empty() => Verdict::Admitted,
                Ok(a) => Verdict::Errors(a.errors.into_iter().map(|e| e.message).collect()),
                Err(r) => Verdict::Refused(r),
            },
        )
        .collect()
}

#[test]
fn the_gate_agrees_with_async_graphqls_own_parse_on_generated_documents() {
    let config = ServerConfig::default();
    let rng = SeededRandom::new(SEED);
    let docs: Vec<String> = (0..CASES).map(|i| document(&rng, i)).collect();
    let gate = Gate::new(&config, "type Query { a: Int }");
    // A tokio worker's stack: the gate must hold on it, whatever it is sent.
    let verdicts = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn({
            let docs = docs.clone();
            move || gate_all(gate, docs)
        })
        .unwrap()
        .join()
        .expect("the gate crashed on a generated document");
    // The reference: async-graphql's parse on a stack far bigger than any case needs.
    let max_depth = config.max_value_depth;
    let max_expanded = config.max_expanded_selections as u64;
    let tally = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            let mut tally = [0usize; 5];
            for (i, (q, verdict)) in docs.iter().zip(verdicts).enumerate() {
                let case = format!("seed {SEED:#x} case {i}: {q:?} -> {verdict:?}");
                let openers = parse::openers(q);
                let doc = match async_graphql::parser::parse_query(q) {
                    Err(e) => {
                        // Too many brackets is refused unparsed; anything else that does not
                        // parse is answered with async-graphql's own error.
                        match &verdict {
                            Verdict::Errors(m) => assert_eq!(m, &[e.to_string()], "{case}"),
                            Verdict::Refused(Refusal::TooManyBrackets { .. }) => {
                                assert!(openers > parse::MAX_OPENERS, "{case}")
                            }
                            _ => panic!("a document that does not parse got through: {case}"),
                        }
                        tally[0] += 1;
                        continue;
                    }
                    Ok(doc) => doc,
                };
                let depth = depth_of(&doc);
                assert!(
                    openers >= depth,
                    "the stack bound is below the depth: {case}"
                );
                if depth > max_depth {
                    assert!(
                        matches!(verdict, Verdict::Refused(Refusal::TooDeep { .. })),
                        "{case}"
                    );
                    tally[1] += 1;
                    continue;
                }
                let undefined = has_undefined_spread(&doc);
                let visits = naive_visits(&doc, max_expanded + 1);
                match verdict {
                    Verdict::Refused(Refusal::TooDeep { .. }) => {
                        panic!("refused for a depth of {depth}: {case}")
                    }
                    Verdict::Errors(messages) => {
                        assert!(undefined, "{case}");
                        assert!(
                            messages
                                .iter()
                                .all(|m| m.starts_with("Unknown fragment: \"")),
                            "{case}"
                        );
                        tally[2] += 1;
                    }
                    Verdict::Admitted => {
                        assert!(!undefined, "{case}");
                        assert!(visits <= max_expanded, "admitted {visits} visits: {case}");
                        let counted = expanded_size(&doc).expect("admitted, so counted");
                        assert!(counted >= visits, "counted {counted} < {visits}: {case}");
                        tally[3] += 1;
                    }
                    Verdict::Refused(Refusal::TooLarge { .. })
                    | Verdict::Refused(Refusal::FragmentCycle { .. }) => {
                        assert!(!undefined, "{case}");
                        tally[4] += 1;
                    }
                    Verdict::Refused(other) => panic!("refused as {other:?}: {case}"),
                }
            }
            tally
        })
        .unwrap()
        .join()
        .expect("the reference check failed");
    // Every outcome was reached, so no oracle is vacuous.
    let [syntax, deep, undefined, admitted, large] = tally;
    assert!(
        syntax > 100 && deep > 100 && undefined > 100 && admitted > 100 && large > 20,
        "syntax {syntax}, too deep {deep}, undefined {undefined}, admitted {admitted}, too large or cyclic {large}"
    );
}

#[test]
fn every_construct_at_the_body_limit_is_answered_on_a_workers_stack() {
    let config = ServerConfig::default();
    let docs = deepest_documents(config.body_limit_bytes);
    let gate = Gate::new(&config, "type Query { a: Int }");
    let verdicts = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || gate_all(gate, docs))
        .unwrap()
        .join()
        .expect("the gate crashed at the body limit");
    for verdict in verdicts {
        // Closed documents are too deep (or past async-graphql's own selection limit, a syntax
        // error); open ones do not parse.
        match verdict {
            Verdict::Refused(Refusal::TooDeep { .. }) | Verdict::Errors(_) => {}
            other => panic!("{other:?}"),
        }
    }
}

// ---- the reference: written here, recursive, independent of the gate's walk ----

fn depth_of(doc: &ExecutableDocument) -> usize {
    let ops = doc.operations.iter().map(|(_, op)| {
        let op = &op.node;
        let vars = if op.variable_definitions.is_empty() {
            0
        } else {
            1 + op
                .variable_definitions
                .iter()
                .map(|v| {
                    type_depth(&v.node.var_type.node)
                        .max(
                            v.node
                                .default_value
                                .as_ref()
                                .map_or(0, |d| const_depth(&d.node)),
                        )
                        .max(directives_depth(&v.node.directives))
                })
                .max()
                .unwrap_or(0)
        };
        vars.max(directives_depth(&op.directives))
            .max(set_depth(&op.selection_set.node))
    });
    let fragments = doc
        .fragments
        .values()
        .map(|f| directives_depth(&f.node.directives).max(set_depth(&f.node.selection_set.node)));
    ops.chain(fragments).max().unwrap_or(0)
}

fn set_depth(set: &SelectionSet) -> usize {
    if set.items.is_empty() {
        return 0;
    }
    1 + set
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => arguments_depth(&f.node.arguments)
                .max(directives_depth(&f.node.directives))
                .max(set_depth(&f.node.selection_set.node)),
            Selection::InlineFragment(f) => {
                directives_depth(&f.node.directives).max(set_depth(&f.node.selection_set.node))
            }
            Selection::FragmentSpread(s) => directives_depth(&s.node.directives),
        })
        .max()
        .unwrap_or(0)
}

fn arguments_depth(arguments: &[(Positioned<Name>, Positioned<Value>)]) -> usize {
    if arguments.is_empty() {
        return 0;
    }
    1 + arguments
        .iter()
        .map(|(_, v)| value_depth(&v.node))
        .max()
        .unwrap_or(0)
}

fn directives_depth(directives: &[Positioned<Directive>]) -> usize {
    directives
        .iter()
        .map(|d| arguments_depth(&d.node.arguments))
        .max()
        .unwrap_or(0)
}

fn value_depth(v: &Value) -> usize {
    match v {
        Value::List(items) => 1 + items.iter().map(value_depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn const_depth(v: &ConstValue) -> usize {
    match v {
        ConstValue::List(items) => 1 + items.iter().map(const_depth).max().unwrap_or(0),
        ConstValue::Object(fields) => 1 + fields.values().map(const_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn type_depth(t: &Type) -> usize {
    match &t.base {
        BaseType::List(inner) => 1 + type_depth(inner),
        BaseType::Named(_) => 0,
    }
}

/// What validation's visitors walk: every selection, each spread fragment again where it is
/// spread (operations), and each fragment definition once; stops past `cap`.
fn naive_visits(doc: &ExecutableDocument, cap: u64) -> u64 {
    fn walk(doc: &ExecutableDocument, set: &SelectionSet, count: &mut u64, cap: u64) {
        for item in &set.items {
            if *count > cap {
                return;
            }
            *count += 1;
            match &item.node {
                Selection::Field(f) => walk(doc, &f.node.selection_set.node, count, cap),
                Selection::InlineFragment(f) => walk(doc, &f.node.selection_set.node, count, cap),
                Selection::FragmentSpread(s) => {
                    if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                        walk(doc, &f.node.selection_set.node, count, cap)
                    }
                }
            }
        }
    }
    let mut count = 0;
    for (_, op) in doc.operations.iter() {
        walk(doc, &op.node.selection_set.node, &mut count, cap);
    }
    for f in doc.fragments.values() {
        walk(doc, &f.node.selection_set.node, &mut count, cap);
    }
    count.min(cap)
}

fn has_undefined_spread(doc: &ExecutableDocument) -> bool {
    fn any(doc: &ExecutableDocument, set: &SelectionSet) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => any(doc, &f.node.selection_set.node),
            Selection::InlineFragment(f) => any(doc, &f.node.selection_set.node),
            Selection::FragmentSpread(s) => !doc.fragments.contains_key(&s.node.fragment_name.node),
        })
    }
    doc.operations
        .iter()
        .any(|(_, op)| any(doc, &op.node.selection_set.node))
        || doc
            .fragments
            .values()
            .any(|f| any(doc, &f.node.selection_set.node))
}

// ---- the generator ----

/// Separators pest skips: whitespace, commas, BOMs, and comments ended every way a line ends.
const IGNORED: &[&str] = &[
    " ",
    "",
    ",",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\u{feff}",
    " # {[( a comment\n",
    " # ended by a carriage return [[[\r",
    " #((( \r\n",
];

/// Strings a lexer can misread: escapes, brackets inside, block strings with escaped quotes.
const STRINGS: &[&str] = &[
    "\"plain\"",
    "\"[[[{{{(((\"",
    "\"\\\" ]]] \\\\ \\/ \\b\\f\\n\\r\\t\"",
    "\"\\u00e9 \\u0041 \\uFFFF\"",
    "\"\"\"block {{{ [[[ \"\"\"",
    "\"\"\"with \\\"\"\" an escaped end ]]] \"\"\"",
    "\"\"\"\n  indented\r\n  lines \"\" \"\"\"",
    "\"\"",
    "\"\"\"\"\"\"",
];

/// Pieces that end or open things where a hand-written scanner may disagree with pest.
const HOSTILE: &[&str] = &[
    "\"\"\"x\"",
    "\"\"\"",
    "\"",
    "\"\\",
    "\"\\u00",
    "\"\\uD800\"",
    "\\\"\"\"",
    "#",
    "# [[[[",
    "\r",
    "\u{feff}",
    "\"]]]]\"",
    "\"\"\"]]]]\"\"\"",
    "...",
    "}",
    "]",
    ")",
];

fn ig(rng: &SeededRandom) -> &'static str {
    if rng.below(3) == 0 {
        IGNORED[rng.below(IGNORED.len())]
    } else {
        " "
    }
}

fn name(rng: &SeededRandom) -> String {
    ["a", "b", "node", "on_", "__typename", "true_", "Query"][rng.below(7)].to_string()
}

fn value(rng: &SeededRandom, levels: usize) -> String {
    let pick = if levels == 0 {
        rng.below(7)
    } else {
        rng.below(10)
    };
    match pick {
        0 => ["0", "-1", "12", "1.5e3", "-0.0"][rng.below(5)].to_string(),
        1 => rng.pick(STRINGS).to_string(),
        2 => ["true", "false", "null"][rng.below(3)].to_string(),
        3 => ["ENUM", "RED", "on"][rng.below(3)].to_string(),
        4 => "$v".to_string(),
        5 | 6 => rng.pick(STRINGS).to_string(),
        7 => {
            let items: Vec<String> = (0..rng.below(4)).map(|_| value(rng, levels - 1)).collect();
            format!("[{}{}]", ig(rng), items.join(ig(rng)))
        }
        8 => {
            let fields: Vec<String> = (0..rng.below(4))
                .map(|_| format!("{}:{}{}", name(rng), ig(rng), value(rng, levels - 1)))
                .collect();
            format!("{{{}{}}}", ig(rng), fields.join(ig(rng)))
        }
        _ => deep_value(rng, rng.below(120)),
    }
}

/// A value nested `levels` deep in lists and objects, balanced.
fn deep_value(rng: &SeededRandom, levels: usize) -> String {
    let mut open = String::new();
    let mut close = Vec::new();
    for _ in 0..levels {
        if rng.below(2) == 0 {
            open.push('[');
            close.push("]");
        } else {
            open.push_str("{k:");
            close.push("}");
        }
    }
    close.reverse();
    format!("{open}{}{}", rng.pick(STRINGS), close.concat())
}

fn type_(rng: &SeededRandom, levels: usize) -> String {
    let inner = if levels > 0 && rng.below(2) == 0 {
        format!("[{}]", type_(rng, levels - 1))
    } else {
        ["Int", "String", "Nope"][rng.below(3)].to_string()
    };
    if rng.below(3) == 0 {
        inner + "!"
    } else {
        inner
    }
}

fn arguments(rng: &SeededRandom, levels: usize) -> String {
    let args: Vec<String> = (0..1 + rng.below(3))
        .map(|_| format!("{}:{}{}", name(rng), ig(rng), value(rng, levels)))
        .collect();
    format!("({})", args.join(ig(rng)))
}

fn directives(rng: &SeededRandom, levels: usize) -> String {
    match rng.below(6) {
        0 => format!(" @skip(if: {})", ["true", "false", "$v"][rng.below(3)]),
        1 => format!(" @include(if: {})", ["true", "false", "$v"][rng.below(3)]),
        2 => format!(" @d{}", arguments(rng, levels)),
        _ => String::new(),
    }
}

fn selection_set(rng: &SeededRandom, levels: usize, fragments: usize) -> String {
    let items: Vec<String> = (0..1 + rng.below(3))
        .map(|_| match rng.below(if levels == 0 { 4 } else { 7 }) {
            0..=2 => {
                let alias = if rng.below(4) == 0 { "x: " } else { "" };
                let args = if rng.below(3) == 0 {
                    arguments(rng, 2)
                } else {
                    String::new()
                };
                format!("{alias}{}{args}{}", name(rng), directives(rng, 1))
            }
            3 => format!("...F{}{}", rng.below(fragments + 2), directives(rng, 1)),
            4 | 5 => format!(
                "{}{}{}",
                name(rng),
                directives(rng, 1),
                selection_set(rng, levels - 1, fragments)
            ),
            _ => format!(
                "...{}{} {}",
                [" on Query", " on Nope", ""][rng.below(3)],
                directives(rng, 1),
                selection_set(rng, levels - 1, fragments)
            ),
        })
        .collect();
    format!("{{{}{}{}}}", ig(rng), items.join(ig(rng)), ig(rng))
}

/// One generated document: operations and a fragment graph (spreads of defined, undefined and
/// later fragments, so chains, bombs and cycles), then, often, a hostile piece with a deep
/// nesting behind it inserted anywhere.
fn document(rng: &SeededRandom, case: usize) -> String {
    let fragments = rng.below(6);
    let mut q = String::new();
    if case.is_multiple_of(7) {
        q.push_str(&selection_set(rng, 3, fragments));
    } else {
        let vars = if rng.below(2) == 0 {
            format!(
                "($v: {}{}{})",
                type_(rng, 3),
                if rng.below(2) == 0 {
                    format!(" = {}", value(rng, 2))
                } else {
                    String::new()
                },
                directives(rng, 1)
            )
        } else {
            String::new()
        };
        q.push_str(&format!(
            "query Q{vars}{} {}",
            directives(rng, 2),
            selection_set(rng, 3, fragments)
        ));
    }
    for i in 0..fragments {
        // Bombs: a fragment spreading an earlier one several times.
        let body = if i > 0 && rng.below(2) == 0 {
            let spread = format!("...F{} ", rng.below(i));
            format!("{{ {}}}", spread.repeat(2 + rng.below(3)))
        } else {
            selection_set(rng, 2, fragments)
        };
        let on = ["Query", "Nope"][rng.below(2)];
        q.push_str(&format!(
            "{}fragment F{i} on {on}{} {body}",
            ig(rng),
            directives(rng, 1)
        ));
        if rng.below(20) == 0 {
            // A duplicate name.
            q.push_str(&format!(" fragment F{i} on Query {{ a }}"));
        }
    }
    if fragments > 0 && case.is_multiple_of(3) {
        // A long bomb over the last fragment.
        let last = fragments - 1;
        for i in 0..(10 + rng.below(20)) {
            q.push_str(&format!(
                " fragment B{i} on Query {{ ...{p} ...{p} }}",
                p = if i == 0 {
                    format!("F{last}")
                } else {
                    format!("B{}", i - 1)
                }
            ));
        }
        q = q.replacen("...F0", "...B0", 1);
    }
    if rng.below(2) == 0 {
        let at = floor_char(&q, rng.below(q.len() + 1));
        let deep = match rng.below(3) {
            0 => deep_value(rng, 60 + rng.below(3000)),
            1 => "[".repeat(rng.below(3000)),
            _ => format!(
                "{}a{}",
                "{a".repeat(rng.below(200)),
                "}".repeat(rng.below(200))
            ),
        };
        q.insert_str(at, &format!("{}{}", rng.pick(HOSTILE), deep));
    }
    q
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
