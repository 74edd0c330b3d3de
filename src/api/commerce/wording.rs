//! graphql-php's wording for the engine's argument validation errors, on the Commerce endpoint
//! only (Magento answers with webonyx/graphql-php, and Venia and Alokai show these messages).
//!
//! async-graphql reports one problem per argument in its own words; graphql-php reports every
//! problem, worded differently (and async-graphql names the parent type where the argument's
//! type belongs). The engine's message is matched against its fixed templates (anchored, the
//! names in it checked to be GraphQL names), then graphql-php's errors are rebuilt from the
//! document and the schema:
//!
//! | async-graphql (validation)                                              | graphql-php |
//! |---|---|
//! | `Field "f" argument "a" of type "<parent>" is required but not provided` | `Field "f" argument "a" of type "<type>" is required but not provided.` (ProvidedRequiredArguments) |
//! | `Invalid value for argument "<path>", field "x" of type "T" is required but not provided` | `Field <Input>.x of required type T was not provided.` (ValuesOfCorrectType), one per missing field |
//! | `Invalid value for argument "<path>", unknown field "x" of type "<Input>"` | `Field "x" is not defined by type "<Input>".` |
//! | `Invalid value for argument "<path>", expected type "T"`                 | the scalar's own `String cannot represent a non string value: 12` …, or `Expected value of type "T!", found null.` |
//! | `Invalid value for argument "<path>", enumeration type "E" does not contain the value "V"` | `Value "V" does not exist in "E" enum.` |
//!
//! Where the value came from a variable, graphql-php words it as the variable's coercion:
//! `Variable "$v" got invalid value <json>[ at "v.path"]; <reason>` (Values::getVariableValues).
//! Any other message passes unchanged, as does everything on the Storefront endpoint.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, Selection, SelectionSet, VariableDefinition,
};
use async_graphql::registry::{MetaInputValue, MetaType, Registry};
use async_graphql::{ServerError, ServerResult, ValidationResult, Value as ConstValue, Variables};
use async_graphql_value::Value;
use std::sync::{Arc, Mutex};

/// At most this many rewritten errors per request (graphql-php has no bound; an object with
/// thousands of unknown keys would otherwise cost thousands of errors), and at most this many
/// characters of a value shown in one (then `…`).
pub const MAX_ERRORS: usize = 50;
pub const MAX_SHOWN: usize = 200;

/// A printed value, cut at `MAX_SHOWN` characters.
fn clip(text: String) -> String {
    match text.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Adds the rewrite to the Commerce schema.
pub struct GraphqlPhpWording;

impl ExtensionFactory for GraphqlPhpWording {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Wording::default())
    }
}

/// One request's document text and variables, kept for the rare request that fails validation.
#[derive(Default)]
struct Wording {
    request: Mutex<Option<(String, Variables)>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Wording {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Ok(mut slot) = self.request.lock() {
            *slot = Some((query.to_string(), variables.clone()));
        }
        next.run(ctx, query, variables).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            let request = self.request.lock().ok().and_then(|mut r| r.take());
            let document = request
                .as_ref()
                .and_then(|(query, _)| async_graphql::parser::parse_query(query).ok());
            let variables = request.map(|(_, v)| v).unwrap_or_default();
            rewrite(
                &ctx.schema_env.registry,
                document.as_ref(),
                &variables,
                errors,
            )
        })
    }
}

/// The engine's validation errors with graphql-php's wording where a template matches.
fn rewrite(
    registry: &Registry,
    document: Option<&ExecutableDocument>,
    variables: &Variables,
    errors: Vec<ServerError>,
) -> Vec<ServerError> {
    let mut out = Vec::with_capacity(errors.len());
    // graphql-php coerces each variable once, however often it is used.
    let mut variables_reported = Vec::new();
    for error in &errors {
        // None: not a template, or nothing found to rebuild from: the engine's words stay.
        let messages = match Template::parse(&error.message) {
            Some(Template::MissingArgument {
                field,
                argument,
                parent,
            }) => argument_type(registry, parent, field, argument).map(|ty| {
                vec![format!(
                    "Field \"{field}\" argument \"{argument}\" of type \"{ty}\" is required but not provided."
                )]
            }),
            Some(Template::InvalidArgument) => document
                .zip(error.locations.first())
                .and_then(|(doc, pos)| find_argument(registry, doc, *pos))
                .and_then(|found| {
                    let mut check = Check {
                        registry,
                        variables,
                        definitions: found.definitions,
                        reported: &mut variables_reported,
                        repeated: false,
                        messages: Vec::new(),
                    };
                    check.literal(&found.ty, found.value);
                    // Nothing new only because its variable was reported already: drop it.
                    (!check.messages.is_empty() || check.repeated).then_some(check.messages)
                }),
            None => None,
        };
        match messages {
            Some(messages) => out.extend(messages.into_iter().map(|message| ServerError {
                message,
                ..error.clone()
            })),
            None => out.push(error.clone()),
        }
        if out.len() >= MAX_ERRORS {
            out.truncate(MAX_ERRORS);
            break;
        }
    }
    if out.is_empty() {
        return errors;
    }
    out
}

/// The engine's message templates this module rewrites (async-graphql 7: validation/rules/
/// provided_non_null_arguments.rs and arguments_of_correct_type.rs with validation/utils.rs).
#[derive(Debug, PartialEq)]
enum Template<'a> {
    /// `Field "f" argument "a" of type "<parent type>" is required but not provided`.
    MissingArgument {
        field: &'a str,
        argument: &'a str,
        parent: &'a str,
    },
    /// `Invalid value for argument "<path>", <reason>` with one of the reasons
    /// `is_valid_input_value` gives for a missing field, an unknown field, a wrong type or an
    /// unknown enum value.
    InvalidArgument,
}

impl<'a> Template<'a> {
    fn parse(message: &'a str) -> Option<Template<'a>> {
        if let Some(rest) = message.strip_prefix("Field \"") {
            let (field, rest) = rest.split_once("\" argument \"")?;
            let (argument, rest) = rest.split_once("\" of type \"")?;
            let parent = rest.strip_suffix("\" is required but not provided")?;
            return [field, argument, parent]
                .iter()
                .all(|n| is_name(n))
                .then_some(Template::MissingArgument {
                    field,
                    argument,
                    parent,
                });
        }
        let rest = message.strip_prefix("Invalid value for argument \"")?;
        let (path, reason) = rest.split_once("\", ")?;
        if !path
            .split('.')
            .all(|s| is_name(s) || s.parse::<usize>().is_ok())
        {
            return None;
        }
        let known = quoted_pair(
            reason,
            "field \"",
            "\" of type \"",
            "\" is required but not provided",
        ) || quoted_pair(reason, "unknown field \"", "\" of type \"", "\"")
            || quoted_pair(
                reason,
                "enumeration type \"",
                "\" does not contain the value \"",
                "\"",
            )
            || reason
                .strip_prefix("expected type \"")
                .and_then(|r| r.strip_suffix('"'))
                .is_some_and(is_name);
        known.then_some(Template::InvalidArgument)
    }
}

/// `text` is exactly `<open>a<middle>b<close>`, with `a` a name and `b` a name or type.
fn quoted_pair(text: &str, open: &str, middle: &str, close: &str) -> bool {
    text.strip_prefix(open)
        .and_then(|r| r.strip_suffix(close))
        .and_then(|r| r.split_once(middle))
        .is_some_and(|(a, b)| is_name(a) && !b.contains('"'))
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn argument_type<'r>(
    registry: &'r Registry,
    parent: &str,
    field: &str,
    argument: &str,
) -> Option<&'r str> {
    registry
        .types
        .get(parent)?
        .field_by_name(field)?
        .args
        .get(argument)
        .map(|a| a.ty.as_str())
}

/// `[Foo!]!` → `Foo`.
fn named(ty: &str) -> &str {
    ty.trim_start_matches('[').trim_end_matches(['!', ']'])
}

/// The argument whose name stands at `pos`: its declared type, its value in the document, and
/// the variable definitions of its operation.
struct Found<'d> {
    ty: String,
    value: &'d Value,
    definitions: &'d [async_graphql::Positioned<VariableDefinition>],
}

fn find_argument<'d>(
    registry: &Registry,
    doc: &'d ExecutableDocument,
    pos: async_graphql::Pos,
) -> Option<Found<'d>> {
    for (_, operation) in doc.operations.iter() {
        let OperationDefinition {
            ty,
            selection_set,
            variable_definitions,
            ..
        } = &operation.node;
        let root = match ty {
            async_graphql::parser::types::OperationType::Query => Some(&registry.query_type),
            async_graphql::parser::types::OperationType::Mutation => {
                registry.mutation_type.as_ref()
            }
            async_graphql::parser::types::OperationType::Subscription => {
                registry.subscription_type.as_ref()
            }
        };
        let Some(root) = root else { continue };
        let found = walk(registry, &selection_set.node, root, pos, 0);
        // A fragment's argument belongs to whichever operation uses it; the variables are
        // looked up in the first operation (documents here hold one).
        let found = found.or_else(|| {
            doc.fragments.values().find_map(|fragment| {
                walk(
                    registry,
                    &fragment.node.selection_set.node,
                    fragment.node.type_condition.node.on.node.as_str(),
                    pos,
                    0,
                )
            })
        });
        if let Some((ty, value)) = found {
            return Some(Found {
                ty,
                value,
                definitions: variable_definitions,
            });
        }
    }
    None
}

/// Walks a selection set of type `ty` for the argument at `pos` (bounded: the gate already
/// refused deep documents).
fn walk<'d>(
    registry: &Registry,
    set: &'d SelectionSet,
    ty: &str,
    pos: async_graphql::Pos,
    depth: usize,
) -> Option<(String, &'d Value)> {
    if depth > 64 {
        return None;
    }
    let meta = registry.types.get(ty);
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let meta_field = meta.and_then(|m| m.field_by_name(&field.node.name.node));
                for (name, value) in &field.node.arguments {
                    if name.pos == pos {
                        let arg: &MetaInputValue = meta_field?.args.get(name.node.as_str())?;
                        return Some((arg.ty.clone(), &value.node));
                    }
                }
                if let Some(meta_field) = meta_field {
                    let found = walk(
                        registry,
                        &field.node.selection_set.node,
                        named(&meta_field.ty),
                        pos,
                        depth + 1,
                    );
                    if found.is_some() {
                        return found;
                    }
                }
            }
            Selection::InlineFragment(fragment) => {
                let inner = fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map_or(ty, |c| c.node.on.node.as_str());
                let found = walk(
                    registry,
                    &fragment.node.selection_set.node,
                    inner,
                    pos,
                    depth + 1,
                );
                if found.is_some() {
                    return found;
                }
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    None
}

/// graphql-php's checks of one argument value, its messages in the order it reports them.
struct Check<'a> {
    registry: &'a Registry,
    variables: &'a Variables,
    definitions: &'a [async_graphql::Positioned<VariableDefinition>],
    reported: &'a mut Vec<String>,
    /// A variable met here was reported for an earlier argument.
    repeated: bool,
    messages: Vec<String>,
}

impl Check<'_> {
    /// ValuesOfCorrectType on a literal at a position of type `ty`.
    fn literal(&mut self, ty: &str, value: &Value) {
        let inner = ty.strip_suffix('!');
        match value {
            Value::Variable(name) => self.variable(name),
            Value::Null => {
                if inner.is_some() {
                    self.messages
                        .push(format!("Expected value of type \"{ty}\", found null."));
                }
            }
            _ => {
                let ty = inner.unwrap_or(ty);
                if let Some(item) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                    match value {
                        Value::List(items) => items.iter().for_each(|v| self.literal(item, v)),
                        v => self.literal(item, v),
                    }
                    return;
                }
                let registry = self.registry;
                match registry.types.get(ty) {
                    Some(MetaType::InputObject {
                        input_fields, name, ..
                    }) => {
                        let Value::Object(fields) = value else {
                            self.messages
                                .push(format!("Expected value of type \"{name}\", found {value}."));
                            return;
                        };
                        for field in input_fields.values() {
                            if required(field) && !fields.contains_key(field.name.as_str()) {
                                self.messages.push(format!(
                                    "Field {name}.{} of required type {} was not provided.",
                                    field.name, field.ty
                                ));
                            }
                        }
                        for (key, v) in fields {
                            match input_fields.get(key.as_str()) {
                                Some(field) => self.literal(&field.ty, v),
                                None => self.messages.push(format!(
                                    "Field \"{key}\" is not defined by type \"{name}\"."
                                )),
                            }
                        }
                    }
                    Some(meta) => {
                        // A leaf: the literal holds no variable here (handled above).
                        let Ok(constant) = value.clone().into_const_with(|_| Err(())) else {
                            return;
                        };
                        if let Some(message) = leaf_literal(meta, &constant) {
                            self.messages.push(message);
                        }
                    }
                    None => {}
                }
            }
        }
    }

    /// Values::getVariableValues for `$name`: reported once per request.
    fn variable(&mut self, name: &str) {
        if self.reported.iter().any(|n| n == name) {
            self.repeated = true;
            return;
        }
        self.reported.push(name.to_string());
        let Some(definition) = self.definitions.iter().find(|d| d.node.name.node == name) else {
            return;
        };
        let ty = definition.node.var_type.node.to_string();
        let value = self.variables.get(name);
        let has_default = definition.node.default_value.is_some();
        match value {
            None if has_default => {}
            None | Some(ConstValue::Null) if ty.ends_with('!') => {
                self.messages.push(match value {
                    None => {
                        format!("Variable \"${name}\" of required type \"{ty}\" was not provided.")
                    }
                    Some(_) => {
                        format!("Variable \"${name}\" of non-null type \"{ty}\" must not be null.")
                    }
                });
            }
            None | Some(ConstValue::Null) => {}
            Some(value) => {
                let mut problems = Vec::new();
                coerce(self.registry, &ty, value, &mut String::new(), &mut problems);
                for (path, invalid, reason) in problems.into_iter().take(MAX_ERRORS) {
                    let at = if path.is_empty() {
                        String::new()
                    } else {
                        format!(" at \"{name}{path}\"")
                    };
                    self.messages.push(format!(
                        "Variable \"${name}\" got invalid value {}{at}; {reason}",
                        clip(json(invalid))
                    ));
                }
            }
        }
    }
}

fn required(field: &MetaInputValue) -> bool {
    field.ty.ends_with('!') && field.default_value.is_none()
}

/// graphql-php's JSON of a value (`Utils::printSafeJson`), keys in the order sent.
fn json(value: &ConstValue) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &ConstValue, out: &mut String) {
    match value {
        ConstValue::Null => out.push_str("null"),
        ConstValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        ConstValue::Number(n) => out.push_str(&n.to_string()),
        ConstValue::String(s) => out.push_str(&serde_json::Value::from(s.as_str()).to_string()),
        ConstValue::Enum(s) => out.push_str(&serde_json::Value::from(s.as_str()).to_string()),
        ConstValue::Binary(_) => out.push_str("null"),
        ConstValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        ConstValue::Object(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::from(key.as_str()).to_string());
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

/// A leaf literal the engine refused, in the words of graphql-php's `parseLiteral`; None when
/// the engine accepts it after all.
fn leaf_literal(meta: &MetaType, value: &ConstValue) -> Option<String> {
    match meta {
        MetaType::Scalar { name, is_valid, .. } => {
            if is_valid.as_ref().is_none_or(|f| f(value)) {
                return None;
            }
            Some(scalar_refusal(name, value, clip(value.to_string())))
        }
        MetaType::Enum {
            name, enum_values, ..
        } => match value {
            ConstValue::Enum(v) if enum_values.contains_key(v.as_str()) => None,
            ConstValue::Enum(v) => {
                Some(format!("Value \"{v}\" does not exist in \"{name}\" enum."))
            }
            other => Some(format!(
                "Enum \"{name}\" cannot represent non-enum value: {other}."
            )),
        },
        _ => None,
    }
}

/// The built-in scalars' refusals (graphql-php src/Type/Definition/*Type.php); `shown` is the
/// value as the caller prints it (GraphQL for a literal, JSON for a variable).
fn scalar_refusal(name: &str, value: &ConstValue, shown: String) -> String {
    match name {
        "String" => format!("String cannot represent a non string value: {shown}"),
        "Int" if matches!(value, ConstValue::Number(n) if n.is_i64() || n.is_u64()) => {
            format!("Int cannot represent non 32-bit signed integer value: {shown}")
        }
        "Int" => format!("Int cannot represent non-integer value: {shown}"),
        "Float" => format!("Float cannot represent non numeric value: {shown}"),
        "Boolean" => format!("Boolean cannot represent a non boolean value: {shown}"),
        "ID" => format!("ID cannot represent a non-string and non-integer value: {shown}"),
        _ => format!("Expected value of type \"{name}\", found {shown}."),
    }
}

/// Value::coerceInputValue: (input path, the invalid value, the reason) for each problem.
fn coerce<'v>(
    registry: &Registry,
    ty: &str,
    value: &'v ConstValue,
    path: &mut String,
    problems: &mut Vec<(String, &'v ConstValue, String)>,
) {
    if let Some(inner) = ty.strip_suffix('!') {
        if matches!(value, ConstValue::Null) {
            problems.push((
                path.clone(),
                value,
                format!("Expected non-nullable type \"{ty}\" not to be null."),
            ));
            return;
        }
        return coerce(registry, inner, value, path, problems);
    }
    if matches!(value, ConstValue::Null) {
        return;
    }
    if let Some(item) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        match value {
            ConstValue::List(items) => {
                for (i, v) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    coerce(registry, item, v, path, problems);
                    path.truncate(len);
                }
            }
            v => coerce(registry, item, v, path, problems),
        }
        return;
    }
    match registry.types.get(ty) {
        Some(MetaType::InputObject {
            input_fields, name, ..
        }) => {
            let ConstValue::Object(fields) = value else {
                problems.push((
                    path.clone(),
                    value,
                    format!("Expected type \"{name}\" to be an object."),
                ));
                return;
            };
            for field in input_fields.values() {
                match fields.get(field.name.as_str()) {
                    Some(v) => {
                        let len = path.len();
                        path.push('.');
                        path.push_str(&field.name);
                        coerce(registry, &field.ty, v, path, problems);
                        path.truncate(len);
                    }
                    None if required(field) => problems.push((
                        path.clone(),
                        value,
                        format!(
                            "Field \"{}\" of required type \"{}\" was not provided.",
                            field.name, field.ty
                        ),
                    )),
                    None => {}
                }
            }
            for key in fields.keys() {
                if !input_fields.contains_key(key.as_str()) {
                    problems.push((
                        path.clone(),
                        value,
                        format!("Field \"{key}\" is not defined by type \"{name}\"."),
                    ));
                }
            }
        }
        Some(MetaType::Scalar { name, is_valid, .. })
            if !is_valid.as_ref().is_none_or(|f| f(value)) =>
        {
            problems.push((
                path.clone(),
                value,
                scalar_refusal(name, value, clip(json(value))),
            ));
        }
        Some(MetaType::Enum {
            name, enum_values, ..
        }) => match value {
            ConstValue::String(v) if enum_values.contains_key(v.as_str()) => {}
            ConstValue::Enum(v) if enum_values.contains_key(v.as_str()) => {}
            ConstValue::String(v) => problems.push((
                path.clone(),
                value,
                format!("Value \"{v}\" does not exist in \"{name}\" enum."),
            )),
            other => problems.push((
                path.clone(),
                value,
                format!(
                    "Enum \"{name}\" cannot represent non-string value: {}.",
                    clip(json(other))
                ),
            )),
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_templates_are_matched_whole_and_nothing_else() {
        assert_eq!(
            Template::parse(
                "Field \"isEmailAvailable\" argument \"email\" of type \"Query\" is required but not provided"
            ),
            Some(Template::MissingArgument {
                field: "isEmailAvailable",
                argument: "email",
                parent: "Query"
            })
        );
        for message in [
            "Invalid value for argument \"input\", field \"email\" of type \"String!\" is required but not provided",
            "Invalid value for argument \"input\", unknown field \"test123\" of type \"CustomerCreateInput\"",
            "Invalid value for argument \"input.addresses.0.street\", expected type \"String\"",
            "Invalid value for argument \"gender\", enumeration type \"G\" does not contain the value \"X\"",
        ] {
            assert_eq!(Template::parse(message), Some(Template::InvalidArgument), "{message}");
        }
        for message in [
            // Not anchored at either end, or not the engine's: passes unchanged.
            "Field \"isEmailAvailable\" argument \"email\" of type \"Query\" is required but not provided.",
            "x Field \"a\" argument \"b\" of type \"Q\" is required but not provided",
            "Field \"a b\" argument \"b\" of type \"Q\" is required but not provided",
            "Invalid value for argument \"input\", Oneof input objects requires have exactly one field",
            "Invalid value for argument \"input\", expected type \"String\" or so",
            "Unknown field \"x\" on type \"Query\".",
            "Invalid login or password.",
        ] {
            assert_eq!(Template::parse(message), None, "{message}");
        }
    }
}
