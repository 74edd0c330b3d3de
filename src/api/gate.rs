//! The GraphQL gate: what a document must pass before async-graphql sees it, shared by both
//! dialects. A linear pre-scan bounds bracket nesting (async-graphql's parser recurses on list and
//! object values without a depth guard, so a deep literal overflows the stack); one parse; a
//! count of the selections the document holds once its fragments are spread (a fragment bomb
//! doubles validation work per level); then the parsed document is handed on, so it is parsed
//! once. The gate also names the request for metrics from a fixed set of labels.

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::parser::Positioned;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Why the gate refused a document. Nothing of it was executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// More than `limit` levels of `{`, `[`, `(` outside strings and comments.
    TooDeep { limit: usize },
    /// More than `limit` selections once fragments are spread.
    TooLarge { limit: u64 },
    /// A fragment that spreads itself, directly or through others.
    FragmentCycle { fragment: String },
    /// The check itself failed (a bug); the document is refused rather than run unchecked.
    Unchecked,
}

impl Refusal {
    /// The message a client reads: which limit was passed.
    pub fn message(&self) -> String {
        match self {
            Refusal::TooDeep { limit } => format!(
                "The query is nested too deeply: more than {limit} levels of brackets (server.max_value_depth)."
            ),
            Refusal::TooLarge { limit } => format!(
                "The query has more than {limit} selections once its fragments are spread (server.max_expanded_selections)."
            ),
            Refusal::FragmentCycle { fragment } => {
                format!("Cannot spread fragment \"{fragment}\" within itself.")
            }
            Refusal::Unchecked => "The query could not be checked.".to_string(),
        }
    }
}

/// What selecting `Customer.orders` answers in both dialects: storekey keeps no orders.
pub const NO_ORDERS: &str = "storekey keeps no orders: the field `orders` is not served";

/// The metrics label for anything that is not one known root field.
pub const OTHER: &str = "other";
/// The metrics label for an operation with several different root fields.
pub const MULTIPLE: &str = "multiple";

/// What became of a gated request.
pub enum Outcome {
    Refused(Refusal),
    TimedOut,
    Executed {
        response: Box<async_graphql::Response>,
        label: &'static str,
    },
}

/// A document the gate let through.
pub struct Admitted {
    pub request: async_graphql::Request,
    /// One of the schema's root field names, [`MULTIPLE`] or [`OTHER`]: never client text.
    pub label: &'static str,
    /// The syntax error when the document does not parse: answered as async-graphql answers
    /// it, without parsing the document a second time on a worker.
    pub syntax_error: Option<async_graphql::ServerError>,
    /// The document selects `orders` under `customer`. Where it then fails validation (an
    /// order page asks for order fields storekey does not declare), the answer is
    /// [`NO_ORDERS`] rather than a list of unknown fields.
    pub selects_orders: bool,
}

/// The limits and the root field names of one schema.
pub struct Gate {
    max_depth: usize,
    max_expanded: u64,
    pub timeout: Duration,
    /// Leaked once per schema at start-up so labels are `&'static str` and cannot grow.
    root_fields: HashSet<&'static str>,
    /// Documents that passed, by their text: a storefront sends the same few documents over
    /// and over, and a hit skips the scan, the parse and the count.
    passed: DocumentCache,
}

/// The documents that passed the gate, keyed by their exact text, least recently used evicted.
/// Bounded in entries and in bytes of text (only documents up to [`INLINE_QUERY_BYTES`] are
/// kept), so a client sending endless distinct documents only evicts, and memory stays flat.
/// A cached document is the parse of that very text, so a hit answers as a parse would.
struct DocumentCache {
    inner: std::sync::Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    map: HashMap<Box<str>, (ExecutableDocument, u64)>,
    bytes: usize,
    clock: u64,
}

/// At most this many cached documents per schema…
const CACHE_ENTRIES: usize = 256;
/// …and at most this many bytes of their text (their parsed form is a small multiple of it).
const CACHE_BYTES: usize = 256 * 1024;

impl DocumentCache {
    fn new() -> DocumentCache {
        DocumentCache {
            inner: std::sync::Mutex::new(CacheInner::default()),
        }
    }

    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        let (doc, used) = inner.map.get_mut(query)?;
        *used = now;
        Some(doc.clone())
    }

    fn put(&self, query: &str, doc: &ExecutableDocument) {
        if query.len() > INLINE_QUERY_BYTES {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.map.contains_key(query) {
            return;
        }
        while !inner.map.is_empty()
            && (inner.map.len() >= CACHE_ENTRIES || inner.bytes + query.len() > CACHE_BYTES)
        {
            let oldest = inner
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                inner.bytes -= key.len();
                inner.map.remove(&key);
            }
        }
        inner.clock += 1;
        let now = inner.clock;
        inner.bytes += query.len();
        inner.map.insert(query.into(), (doc.clone(), now));
    }

    #[cfg(test)]
    fn len_and_bytes(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (inner.map.len(), inner.bytes)
    }
}

/// Above this many bytes of query text the scan and the parse move to the blocking pool.
/// Measured (one run, this machine): a 60 KB document of 1,718 selections (the default body
/// limit, under the default expansion limit) scans in 35 µs and parses in 6.7 ms in a release
/// build (120 ms in debug); a sign-in document is gated in about 7 µs. So small documents are
/// gated on the worker (a hop to the blocking pool would cost more than the work) and large ones,
/// whose parse would stall every request queued on that worker, never hold one.
const INLINE_QUERY_BYTES: usize = 4096;

impl Gate {
    /// The gate for the schema whose SDL is `schema_sdl`.
    pub fn new(config: &crate::config::ServerConfig, schema_sdl: &str) -> Gate {
        Gate {
            max_depth: config.max_value_depth,
            max_expanded: config.max_expanded_selections as u64,
            timeout: Duration::from_secs(config.request_timeout_seconds),
            root_fields: root_fields(schema_sdl),
            passed: DocumentCache::new(),
        }
    }

    /// What a client reads when its request overran [`Gate::timeout`].
    pub fn timeout_message(&self) -> String {
        format!(
            "The request took longer than the limit of {} seconds (server.request_timeout_seconds) and was stopped.",
            self.timeout.as_secs()
        )
    }

    /// Gates the request and runs `execute` on what passes, all under the deadline. On overrun
    /// the execution is dropped (whatever it awaited, a hash or a write, is abandoned) and the
    /// worker is free again. Validation and execution are async-graphql's: between awaits they
    /// cannot be interrupted, which is why the gate bounds their work first.
    pub async fn run<F, Fut>(
        self: &std::sync::Arc<Self>,
        request: async_graphql::Request,
        execute: F,
    ) -> Outcome
    where
        F: FnOnce(async_graphql::Request) -> Fut,
        Fut: std::future::Future<Output = async_graphql::Response>,
    {
        let gated = async {
            match self.admit_off_worker(request).await {
                Err(refusal) => Outcome::Refused(refusal),
                Ok(Admitted {
                    syntax_error: Some(e),
                    label,
                    ..
                }) => Outcome::Executed {
                    response: Box::new(async_graphql::Response::from_errors(vec![e])),
                    label,
                },
                Ok(admitted) => {
                    // Boxed: async-graphql's execution is by far the largest state in the
                    // request's future; kept on the heap, the futures around it stay small.
                    let mut response = Box::pin(execute(admitted.request)).await;
                    let invalid = !response.errors.is_empty()
                        && response.errors.iter().all(|e| e.path.is_empty())
                        && response.data == async_graphql::Value::Null;
                    if admitted.selects_orders && invalid {
                        response = async_graphql::Response::from_errors(vec![
                            async_graphql::ServerError::new(NO_ORDERS, None),
                        ]);
                    }
                    Outcome::Executed {
                        response: Box::new(response),
                        label: admitted.label,
                    }
                }
            }
        };
        tokio::time::timeout(self.timeout, gated)
            .await
            .unwrap_or(Outcome::TimedOut)
    }

    /// Scans, parses and measures the request's document. A document that does not parse is
    /// not refused: its syntax error is the answer, in async-graphql's own words.
    pub fn admit(&self, mut request: async_graphql::Request) -> Result<Admitted, Refusal> {
        if let Some(doc) = self.passed.get(&request.query) {
            let label = self.label(&doc, request.operation_name.as_deref());
            let selects_orders = selects_customer_orders(&doc);
            request.set_parsed_query(doc);
            return Ok(Admitted {
                request,
                label,
                syntax_error: None,
                selects_orders,
            });
        }
        prescan(&request.query, self.max_depth)?;
        let doc = match async_graphql::parser::parse_query(&request.query) {
            Ok(doc) => doc,
            Err(e) => {
                return Ok(Admitted {
                    request,
                    label: OTHER,
                    syntax_error: Some(e.into()),
                    selects_orders: false,
                })
            }
        };
        let size = expanded_size(&doc)?;
        if size > self.max_expanded {
            return Err(Refusal::TooLarge {
                limit: self.max_expanded,
            });
        }
        let label = self.label(&doc, request.operation_name.as_deref());
        self.passed.put(&request.query, &doc);
        let selects_orders = selects_customer_orders(&doc);
        request.set_parsed_query(doc);
        Ok(Admitted {
            request,
            label,
            syntax_error: None,
            selects_orders,
        })
    }

    /// [`Gate::admit`], on the blocking pool when the document is large.
    pub async fn admit_off_worker(
        self: &std::sync::Arc<Self>,
        request: async_graphql::Request,
    ) -> Result<Admitted, Refusal> {
        if request.query.len() <= INLINE_QUERY_BYTES {
            return self.admit(request);
        }
        let gate = self.clone();
        match tokio::task::spawn_blocking(move || gate.admit(request)).await {
            Ok(result) => result,
            // The gate does not panic (the fuzz tests hold it to that); if it ever did, refuse.
            Err(_) => Err(Refusal::Unchecked),
        }
    }

    /// The metrics label: the root field the operation selects when it selects one (aliases of
    /// one field count as that field), [`MULTIPLE`] for several, [`OTHER`] when the field is
    /// unknown or no operation matches.
    fn label(&self, doc: &ExecutableDocument, operation: Option<&str>) -> &'static str {
        let op = match operation {
            Some(name) => doc
                .operations
                .iter()
                .find(|(n, _)| n.map(|n| n.as_str()) == Some(name))
                .map(|(_, op)| op),
            None => {
                let mut ops = doc.operations.iter();
                match (ops.next(), ops.next()) {
                    (Some((_, op)), None) => Some(op),
                    _ => None,
                }
            }
        };
        let Some(op) = op else { return OTHER };
        let mut roots = Vec::new();
        fields(&op.node.selection_set.node, doc, &mut roots, 0);
        let mut names: Vec<&str> = roots.iter().map(|f| f.node.name.node.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        match names.as_slice() {
            [one] => self.root_fields.get(*one).copied().unwrap_or(OTHER),
            [] => OTHER,
            _ => MULTIPLE,
        }
    }
}

/// Whether any operation selects `orders` inside a root `customer` field.
fn selects_customer_orders(doc: &ExecutableDocument) -> bool {
    doc.operations.iter().any(|(_, op)| {
        let mut roots = Vec::new();
        fields(&op.node.selection_set.node, doc, &mut roots, 0);
        roots
            .iter()
            .filter(|f| f.node.name.node == "customer")
            .any(|customer| {
                let mut inner = Vec::new();
                fields(&customer.node.selection_set.node, doc, &mut inner, 0);
                inner.iter().any(|f| f.node.name.node == "orders")
            })
    })
}

/// The fields a selection set selects, through inline fragments and spreads (bounded: spreads
/// that nest deeper than a few levels are ignored; this serves labels and the orders check).
fn fields<'a>(
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    out: &mut Vec<&'a Positioned<Field>>,
    depth: usize,
) {
    if depth > 4 {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f),
            Selection::InlineFragment(f) => fields(&f.node.selection_set.node, doc, out, depth + 1),
            Selection::FragmentSpread(s) => {
                if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                    fields(&f.node.selection_set.node, doc, out, depth + 1);
                }
            }
        }
    }
}

/// The fields of the schema's query and mutation types, from its SDL, plus the introspection
/// roots. Leaked once per schema: a few dozen short strings for the life of the process.
fn root_fields(sdl: &str) -> HashSet<&'static str> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let mut out: HashSet<&'static str> = ["__schema", "__type", "__typename"].into_iter().collect();
    let Ok(doc) = async_graphql::parser::parse_schema(sdl) else {
        return out;
    };
    let mut roots = vec!["Query".to_string(), "Mutation".to_string()];
    for def in &doc.definitions {
        if let TypeSystemDefinition::Schema(s) = def {
            roots.extend(s.node.query.iter().map(|n| n.node.to_string()));
            roots.extend(s.node.mutation.iter().map(|n| n.node.to_string()));
        }
    }
    for def in doc.definitions {
        if let TypeSystemDefinition::Type(t) = def {
            if !roots.iter().any(|r| r == t.node.name.node.as_str()) {
                continue;
            }
            if let TypeKind::Object(o) = &t.node.kind {
                for f in &o.fields {
                    let name: &'static str =
                        Box::leak(f.node.name.node.to_string().into_boxed_str());
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// Refuses text nested deeper than `max_depth` in `{`, `[`, `(`, not counting those inside
/// strings, block strings and comments. Linear, no allocation; unbalanced brackets are left to
/// the parser.
pub fn prescan(query: &str, max_depth: usize) -> Result<(), Refusal> {
    let b = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                // Block string: ends at the next `"""` not escaped as `\"""`.
                i += 3;
                while i < b.len() {
                    if b[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if b[i..].starts_with(b"\"\"\"") {
                        i += 2;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' && b[i] != b'\r' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max_depth {
                    return Err(Refusal::TooDeep { limit: max_depth });
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// How many selections the document holds once every fragment spread is replaced by its
/// fragment: every operation and every fragment definition (validation visits both), each
/// fragment's size computed once. Saturating; a cycle of spreads is refused. Iterative, so a
/// long chain of fragments cannot deepen the stack.
pub fn expanded_size(doc: &ExecutableDocument) -> Result<u64, Refusal> {
    // Each fragment: its own fields, and the fragments it spreads with their counts.
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
                let size = s.spreads.iter().fold(s.fields, |acc, (dep, n)| {
                    acc.saturating_add(sizes.get(dep).copied().unwrap_or(0).saturating_mul(*n))
                });
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
    let of = |s: &Shape| {
        s.spreads.iter().fold(s.fields, |acc, (dep, n)| {
            acc.saturating_add(sizes.get(dep).copied().unwrap_or(0).saturating_mul(*n))
        })
    };
    let operations = doc
        .operations
        .iter()
        .map(|(_, op)| of(&shape(&op.node.selection_set)))
        .fold(0u64, u64::saturating_add);
    Ok(sizes.values().fold(operations, |a, b| a.saturating_add(*b)))
}

/// A selection set's own fields (at every nesting level) and the spreads it holds, by count.
struct Shape<'a> {
    fields: u64,
    spreads: HashMap<&'a str, u64>,
}

fn shape(set: &Positioned<SelectionSet>) -> Shape<'_> {
    let mut out = Shape {
        fields: 0,
        spreads: HashMap::new(),
    };
    let mut pending: Vec<&SelectionSet> = vec![&set.node];
    while let Some(set) = pending.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    out.fields = out.fields.saturating_add(1);
                    pending.push(&f.node.selection_set.node);
                }
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

    fn size(q: &str) -> Result<u64, Refusal> {
        expanded_size(&async_graphql::parser::parse_query(q).unwrap())
    }

    #[test]
    fn prescan_counts_brackets_outside_strings_and_comments() {
        assert!(prescan("{ a(b: [[1]]) }", 4).is_ok());
        assert_eq!(
            prescan("{ a(b: [[[1]]]) }", 4),
            Err(Refusal::TooDeep { limit: 4 })
        );
        assert!(prescan("{ a(b: \"[[[[[\\\"[[[\") }", 2).is_ok());
        assert!(prescan("{ a(b: \"\"\"[[[[ \\\"\"\" [[[[\"\"\") }", 2).is_ok());
        assert!(prescan("{ a # [[[[[[\n }", 1).is_ok());
        assert!(prescan("{ a # [[[[[[\r (b: [1]) }", 1).is_err());
        assert!(prescan("]]]]]]{{", 2).is_ok());
    }

    #[test]
    fn expanded_size_spreads_fragments() {
        assert_eq!(size("{ a b { c } }"), Ok(3));
        // op: a + 2 × f (2) = 5; fragment f: 2.
        assert_eq!(
            size("{ a ...f ... on Q { ...f } } fragment f on Q { b c }"),
            Ok(7)
        );
        assert_eq!(size("{ ...missing }"), Ok(0));
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
    fn fragment_cycles_are_refused() {
        assert!(matches!(
            size("{ ...a } fragment a on Q { ...b } fragment b on Q { x ...a }"),
            Err(Refusal::FragmentCycle { .. })
        ));
        assert!(matches!(
            size("{ ...a } fragment a on Q { x { ...a } }"),
            Err(Refusal::FragmentCycle { .. })
        ));
        // A diamond is not a cycle.
        assert_eq!(
            size("{ ...a } fragment a on Q { ...b ...c } fragment b on Q { ...d } fragment c on Q { ...d } fragment d on Q { x }"),
            Ok(2 + 2 + 1 + 1 + 1)
        );
    }

    #[test]
    fn a_long_fragment_chain_does_not_deepen_the_stack() {
        let mut q = String::from("{ ...f5000 } fragment f0 on Q { a }\n");
        for i in 1..=5000 {
            q.push_str(&format!("fragment f{i} on Q {{ ...f{p} }}\n", p = i - 1));
        }
        // Every fragment holds one field once spread: 5001 fragments and the operation.
        assert_eq!(size(&q), Ok(5002));
    }

    fn gate() -> Gate {
        let sdl = "type Query { customer: Customer } type Customer { email: String }";
        Gate::new(&crate::config::ServerConfig::default(), sdl)
    }

    #[test]
    fn a_passed_document_is_answered_from_the_cache_like_a_parse() {
        let gate = gate();
        let q = "query Who { customer { email } }";
        for _ in 0..3 {
            let admitted = gate.admit(async_graphql::Request::new(q)).unwrap();
            assert_eq!(admitted.label, "customer");
            let mut request = admitted.request;
            let doc = request.parsed_query().unwrap();
            assert_eq!(doc.operations.iter().count(), 1);
        }
        assert_eq!(gate.passed.len_and_bytes(), (1, q.len()));
        // A syntax error or a refusal is not kept: each is found again.
        let broken = "{ customer { email }";
        for _ in 0..2 {
            assert!(gate
                .admit(async_graphql::Request::new(broken))
                .unwrap()
                .syntax_error
                .is_some());
        }
        let deep = format!(
            "{{ customer(x: {}1{}) {{ email }} }}",
            "[".repeat(200),
            "]".repeat(200)
        );
        for _ in 0..2 {
            assert!(matches!(
                gate.admit(async_graphql::Request::new(deep.clone())),
                Err(Refusal::TooDeep { .. })
            ));
        }
        assert_eq!(gate.passed.len_and_bytes().0, 1);
    }

    #[test]
    fn a_flood_of_distinct_documents_stays_within_the_bounds() {
        let gate = gate();
        for i in 0..5000 {
            let q = format!("query Q{i} {{ customer {{ email }} }}");
            gate.admit(async_graphql::Request::new(q)).unwrap();
        }
        let (entries, bytes) = gate.passed.len_and_bytes();
        assert_eq!(entries, CACHE_ENTRIES);
        assert!(bytes <= CACHE_BYTES, "{bytes}");
        // Large documents are never kept; many of them stay within the byte bound.
        let big = |i: usize| format!("query B{i} {{ customer {{ {} }} }}", "email ".repeat(700));
        for i in 0..100 {
            gate.admit(async_graphql::Request::new(big(i))).unwrap();
        }
        let (_, bytes) = gate.passed.len_and_bytes();
        assert!(bytes <= CACHE_BYTES, "{bytes}");
        // The most recently used document survives a flood of new ones.
        let kept = "query Kept { customer { email } }";
        gate.admit(async_graphql::Request::new(kept)).unwrap();
        for i in 0..(CACHE_ENTRIES - 1) {
            gate.admit(async_graphql::Request::new(kept)).unwrap();
            let q = format!("query R{i} {{ customer {{ email }} }}");
            gate.admit(async_graphql::Request::new(q)).unwrap();
        }
        assert!(gate.passed.get(kept).is_some());
    }
}
