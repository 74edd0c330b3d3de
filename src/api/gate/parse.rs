//! Parsing a hostile document without overflowing a stack. async-graphql's parser recurses once
//! per level of nesting three times over: pest's grammar (which guards itself: it fails when
//! less than 64 KiB of stack is left), the conversion of pest's pairs into the AST and the AST's
//! drop (which do not). No text can nest deeper than the number of `{`, `[` and `(` bytes it
//! holds, counted everywhere, strings and comments included, so no lexer of ours has to agree
//! with pest's: a parse on a stack sized for that count cannot overflow. Small counts are parsed
//! where they are; larger ones on a thread of their own with that stack, one at a time. The
//! depth a client is held to (`server.max_value_depth`) is then measured on the AST pest built,
//! on the same stack, and a document past it is dropped there.

use super::Refusal;
use async_graphql::parser::types::{
    BaseType, Directive, ExecutableDocument, Selection, SelectionSet, Type,
};
use async_graphql::parser::Positioned;
use async_graphql_value::{ConstValue, Name, Value};

/// The most stack one level of nesting may take while async-graphql parses, converts and drops
/// a document, with a margin. Measured per construct with a document of 4,000 levels parsed and
/// dropped on ever smaller stacks: object values 6.8 KiB in a debug build (1.7 KiB in release),
/// list values and directive arguments 6.1 KiB, list types 1.9 KiB; selection sets and inline
/// fragments stop at async-graphql's own limit of 64 levels. `tests/it/gate_stack.rs` parses
/// every construct at the default body limit on stacks sized by this.
pub const STACK_PER_LEVEL: usize = 12 * 1024;

/// Stack for everything around the levels: the thread's start, pest's 64 KiB reserve, the
/// depth walk.
const STACK_BASE: usize = 512 * 1024;

/// Documents with at most this many opening brackets are parsed on the thread that holds them
/// (a tokio worker or a blocking-pool thread, 2 MiB of stack each): 48 levels take at most
/// 576 KiB. Every document a storefront sends in practice is below it, and passed documents
/// are cached besides.
pub const INLINE_OPENERS: usize = 48;

/// Documents with more opening brackets than this are refused unparsed: the stack such a parse
/// could need is not reserved (the default body limit, 64 KiB, holds at most this many).
pub const MAX_OPENERS: usize = 65536;

/// The number of `{`, `[` and `(` bytes in `text`: no parse of it can nest deeper.
pub fn openers(text: &str) -> usize {
    text.bytes()
        .filter(|b| matches!(b, b'{' | b'[' | b'('))
        .count()
}

/// The stack a parse of a text with `openers` opening brackets needs.
pub fn stack_for(openers: usize) -> usize {
    STACK_BASE + openers.saturating_mul(STACK_PER_LEVEL)
}

/// What a parse gave.
pub enum Parsed {
    Document(ExecutableDocument),
    /// The document does not parse: async-graphql's own error.
    SyntaxError(async_graphql::ServerError),
}

/// Parses `query` on this thread and measures its depth; a document deeper than `max_depth` is
/// refused, and dropped here. The caller provides the stack: at least
/// `stack_for(openers(query))`, or a thread's 2 MiB for up to [`INLINE_OPENERS`].
pub fn parse_here(query: &str, max_depth: usize) -> Result<Parsed, Refusal> {
    match async_graphql::parser::parse_query(query) {
        Err(e) => Ok(Parsed::SyntaxError(e.into())),
        Ok(doc) if depth(&doc) > max_depth => Err(Refusal::TooDeep { limit: max_depth }),
        Ok(doc) => Ok(Parsed::Document(doc)),
    }
}

/// Runs `work` on a new thread with `stack` bytes of stack and waits for it. The stack is
/// reserved, not touched: only the levels a document really has use memory, and they are
/// returned when the thread ends.
pub fn on_own_stack<T: Send>(stack: usize, work: impl FnOnce() -> T + Send) -> Result<T, Refusal> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("graphql-parse".into())
            .stack_size(stack)
            .spawn_scoped(scope, work)
            .map_err(|_| Refusal::Unchecked)?
            .join()
            .map_err(|_| Refusal::Unchecked)
    })
}

/// A node of the document whose brackets count toward its depth.
enum Node<'a> {
    Set(&'a SelectionSet),
    Arguments(&'a [(Positioned<Name>, Positioned<Value>)]),
    Directives(&'a [Positioned<Directive>]),
    Value(&'a Value),
    Const(&'a ConstValue),
    Type(&'a Type),
}

/// The deepest nesting of brackets the document holds: selection sets `{`, argument lists `(`,
/// list `[` and object `{` values, variable definitions `(` and list types `[`, each counting
/// one level inside the one around it. Iterative, so the walk itself takes no stack per level.
pub fn depth(doc: &ExecutableDocument) -> usize {
    // (node, levels of brackets around it)
    let mut pending: Vec<(Node<'_>, usize)> = Vec::new();
    for (_, op) in doc.operations.iter() {
        let op = &op.node;
        for var in &op.variable_definitions {
            // Inside the operation's `(`.
            pending.push((Node::Type(&var.node.var_type.node), 1));
            pending.push((Node::Directives(&var.node.directives), 1));
            if let Some(value) = &var.node.default_value {
                pending.push((Node::Const(&value.node), 1));
            }
        }
        pending.push((Node::Directives(&op.directives), 0));
        pending.push((Node::Set(&op.selection_set.node), 0));
    }
    for fragment in doc.fragments.values() {
        pending.push((Node::Directives(&fragment.node.directives), 0));
        pending.push((Node::Set(&fragment.node.selection_set.node), 0));
    }
    // An operation's variable definitions are one level: `(`.
    let mut deepest = usize::from(
        doc.operations
            .iter()
            .any(|(_, op)| !op.node.variable_definitions.is_empty()),
    );
    while let Some((node, around)) = pending.pop() {
        let inside = around + 1;
        match node {
            Node::Set(set) => {
                if set.items.is_empty() {
                    continue;
                }
                deepest = deepest.max(inside);
                for item in &set.items {
                    match &item.node {
                        Selection::Field(f) => {
                            pending.push((Node::Arguments(f.node.arguments.as_slice()), inside));
                            pending.push((Node::Directives(&f.node.directives), inside));
                            pending.push((Node::Set(&f.node.selection_set.node), inside));
                        }
                        Selection::InlineFragment(f) => {
                            pending.push((Node::Directives(&f.node.directives), inside));
                            pending.push((Node::Set(&f.node.selection_set.node), inside));
                        }
                        Selection::FragmentSpread(s) => {
                            pending.push((Node::Directives(&s.node.directives), inside));
                        }
                    }
                }
            }
            Node::Arguments(arguments) => {
                if arguments.is_empty() {
                    continue;
                }
                deepest = deepest.max(inside);
                pending.extend(
                    arguments
                        .iter()
                        .map(|(_, v)| (Node::Value(&v.node), inside)),
                );
            }
            Node::Directives(directives) => pending.extend(
                directives
                    .iter()
                    .map(|d| (Node::Arguments(d.node.arguments.as_slice()), around)),
            ),
            Node::Value(Value::List(items)) => {
                deepest = deepest.max(inside);
                pending.extend(items.iter().map(|v| (Node::Value(v), inside)));
            }
            Node::Value(Value::Object(fields)) => {
                deepest = deepest.max(inside);
                pending.extend(fields.values().map(|v| (Node::Value(v), inside)));
            }
            Node::Const(ConstValue::List(items)) => {
                deepest = deepest.max(inside);
                pending.extend(items.iter().map(|v| (Node::Const(v), inside)));
            }
            Node::Const(ConstValue::Object(fields)) => {
                deepest = deepest.max(inside);
                pending.extend(fields.values().map(|v| (Node::Const(v), inside)));
            }
            Node::Type(Type {
                base: BaseType::List(inner),
                ..
            }) => {
                deepest = deepest.max(inside);
                pending.push((Node::Type(inner), inside));
            }
            Node::Value(_) | Node::Const(_) | Node::Type(_) => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_of(q: &str) -> usize {
        depth(&async_graphql::parser::parse_query(q).unwrap())
    }

    #[test]
    fn depth_counts_the_brackets_of_every_construct() {
        assert_eq!(depth_of("{ a }"), 1);
        assert_eq!(depth_of("{ a { b } }"), 2);
        assert_eq!(depth_of("{ a(x: 1) }"), 2);
        assert_eq!(depth_of("{ a(b: [[1]]) }"), 4);
        assert_eq!(depth_of("{ a(b: {c: [1]}) }"), 4);
        assert_eq!(depth_of("{ a @d(x: [1]) }"), 3);
        assert_eq!(depth_of("{ ... on Q { a(x: [1]) } }"), 4);
        assert_eq!(depth_of("{ ...f @d(x: [[1]]) }"), 4);
        assert_eq!(depth_of("query($v: [[Int]]) { a }"), 3);
        assert_eq!(depth_of("query($v: Int = [[1]]) { a }"), 3);
        assert_eq!(depth_of("query($v: Int @d(x: [1])) { a }"), 3);
        assert_eq!(depth_of("query @d(x: [[[1]]]) { a }"), 4);
        assert_eq!(depth_of("{ x } fragment f on Q { a { b(x: [1]) } }"), 4);
        // Brackets inside strings, block strings and comments are not nesting.
        assert_eq!(
            depth_of("{ a(x: \"[[[[\", y: \"\"\"{{{{\"\"\") # ((((\n }"),
            2
        );
    }

    #[test]
    fn openers_bound_the_depth_whatever_the_strings_hold() {
        for q in [
            "{ a(b: \"]]]]\", c: [[[1]]]) }",
            "{ a(b: \"\"\"x\" ]]]] \"\"\", c: [[[1]]]) { b } } # ]]]] \"\"\"",
            "query($v: [[Int]] = [[1]]) @d(x: {a: [1]}) { a { b { c } } }",
        ] {
            assert!(openers(q) >= depth_of(q), "{q}");
        }
    }

    #[test]
    fn a_deep_document_parses_on_its_own_stack_and_is_refused_there() {
        let q = format!(
            "{{ a(x: {}1{}) }}",
            "{a:".repeat(20_000),
            "}".repeat(20_000)
        );
        let stack = stack_for(openers(&q));
        let outcome = on_own_stack(stack, || parse_here(&q, 64).err()).unwrap();
        assert_eq!(outcome, Some(Refusal::TooDeep { limit: 64 }));
    }
}
