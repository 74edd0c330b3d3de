//! The GraphQL gate: what a document must pass before async-graphql sees it, shared by both
//! dialects. One parse on a stack that cannot overflow (`parse`: sized by the document's count of
//! opening brackets), its depth measured on the AST; a count of the selections validation will
//! visit once fragments are spread (`expand`: a fragment bomb doubles validation work per level);
//! spreads of undefined fragments answered before validation; then the parsed document is handed
//! on, so it is parsed once. The gate also names the request for metrics from a fixed set of
//! labels.

mod expand;
pub mod parse;

pub use expand::{expanded_size, undefined_fragments};

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::parser::Positioned;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Why the gate refused a document. Nothing of it was executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// More than `limit` levels of `{`, `[`, `(` in the parsed document.
    TooDeep { limit: usize },
    /// More than `limit` opening brackets in the text: more than any stack is sized for.
    TooManyBrackets { limit: usize },
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
            Refusal::TooManyBrackets { limit } => format!(
                "The query has more than {limit} opening brackets."
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
    /// What async-graphql would answer, found by the gate: the syntax error of a document that
    /// does not parse, or the spreads of undefined fragments. Answered in its words, without
    /// parsing a second time or validating.
    pub errors: Vec<async_graphql::ServerError>,
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
    /// One document at a time parses on a stack of its own (see [`parse`]).
    deep_parses: std::sync::Arc<tokio::sync::Semaphore>,
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

/// Whether `resp` failed before any resolver ran (validation, an unknown operation): no data,
/// and no error with a path.
pub fn failed_before_execution(resp: &async_graphql::Response) -> bool {
    resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty())
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
            deep_parses: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
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
                Ok(Admitted { errors, label, .. }) if !errors.is_empty() => Outcome::Executed {
                    response: Box::new(async_graphql::Response::from_errors(errors)),
                    label,
                },
                Ok(admitted) => {
                    // Boxed: async-graphql's execution is by far the largest state in the
                    // request's future; kept on the heap, the futures around it stay small.
                    let mut response = Box::pin(execute(admitted.request)).await;
                    if admitted.selects_orders && failed_before_execution(&response) {
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

    /// Parses and measures the request's document. A document that does not parse, or that
    /// spreads an undefined fragment, is not refused: async-graphql's own error is the answer.
    pub fn admit(&self, request: async_graphql::Request) -> Result<Admitted, Refusal> {
        if let Some(doc) = self.cached(&request.query) {
            return Ok(self.admitted(request, doc, Vec::new()));
        }
        let openers = parse::openers(&request.query);
        self.admit_counted(request, openers)
    }

    /// A document that passed before; only texts up to [`INLINE_QUERY_BYTES`] are kept, so a
    /// longer one is not hashed to look.
    fn cached(&self, query: &str) -> Option<ExecutableDocument> {
        match query.len() <= INLINE_QUERY_BYTES {
            true => self.passed.get(query),
            false => None,
        }
    }

    /// [`Gate::admit`] past the cache, with the text's count of opening brackets.
    fn admit_counted(
        &self,
        request: async_graphql::Request,
        openers: usize,
    ) -> Result<Admitted, Refusal> {
        if openers > parse::MAX_OPENERS {
            return Err(Refusal::TooManyBrackets {
                limit: parse::MAX_OPENERS,
            });
        }
        if openers <= parse::INLINE_OPENERS {
            return self.admit_parsed(request);
        }
        parse::on_own_stack(parse::stack_for(openers), || self.admit_parsed(request))?
    }

    /// [`Gate::admit`] on the blocking pool when the document is large or deep: nothing but a
    /// cache hit or a small document holds a worker. Documents parsed on a stack of their own
    /// go one at a time, so the stack they touch is one document's worth at most.
    pub async fn admit_off_worker(
        self: &std::sync::Arc<Self>,
        request: async_graphql::Request,
    ) -> Result<Admitted, Refusal> {
        if let Some(doc) = self.cached(&request.query) {
            return Ok(self.admitted(request, doc, Vec::new()));
        }
        let openers = parse::openers(&request.query);
        let deep = openers > parse::INLINE_OPENERS;
        if !deep && request.query.len() <= INLINE_QUERY_BYTES {
            return self.admit_parsed(request);
        }
        let permit = match deep {
            true => Some(
                self.deep_parses
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| Refusal::Unchecked)?,
            ),
            false => None,
        };
        let gate = self.clone();
        let admitted = tokio::task::spawn_blocking(move || {
            let _one_at_a_time = permit;
            gate.admit_counted(request, openers)
        });
        match admitted.await {
            Ok(result) => result,
            // The gate does not panic (the fuzz tests hold it to that); if it ever did, refuse.
            Err(_) => Err(Refusal::Unchecked),
        }
    }

    /// Parses on this thread, whose stack the caller has sized, and measures.
    fn admit_parsed(&self, request: async_graphql::Request) -> Result<Admitted, Refusal> {
        let doc = match parse::parse_here(&request.query, self.max_depth)? {
            parse::Parsed::Document(doc) => doc,
            parse::Parsed::SyntaxError(e) => {
                return Ok(Admitted {
                    request,
                    label: OTHER,
                    errors: vec![e],
                    selects_orders: false,
                })
            }
        };
        let unknown = undefined_fragments(&doc);
        if !unknown.is_empty() {
            return Ok(self.admitted(request, doc, unknown));
        }
        if expanded_size(&doc)? > self.max_expanded {
            return Err(Refusal::TooLarge {
                limit: self.max_expanded,
            });
        }
        self.passed.put(&request.query, &doc);
        Ok(self.admitted(request, doc, Vec::new()))
    }

    fn admitted(
        &self,
        mut request: async_graphql::Request,
        doc: ExecutableDocument,
        errors: Vec<async_graphql::ServerError>,
    ) -> Admitted {
        let label = self.label(&doc, request.operation_name.as_deref());
        let selects_orders = selects_customer_orders(&doc);
        request.set_parsed_query(doc);
        Admitted {
            request,
            label,
            errors,
            selects_orders,
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

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(
                gate.admit(async_graphql::Request::new(broken))
                    .unwrap()
                    .errors
                    .len()
                    == 1
            );
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
