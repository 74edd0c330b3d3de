//! `@inContext(country:, language:, buyer:, preferredLocationId:)`, the directive Shopify's
//! Storefront API accepts on every query and mutation (Hydrogen adds it to every operation it
//! sends). It localises prices and translations; customer sign-in and accounts do not depend
//! on it, so storekey declares it exactly as Shopify does (a document using it validates, and
//! introspection shows it) and changes nothing because of it.

use super::codes::{CountryCode, LanguageCode};
use async_graphql::registry::{Deprecation, MetaDirective, MetaInputValue, Registry};
use async_graphql::{
    ContextDirective, CustomDirective, CustomDirectiveFactory, InputType, ServerResult, ID,
};
use std::borrow::Cow;

/// The input fields for obtaining the buyer's identity.
#[derive(async_graphql::InputObject, Debug, Clone)]
pub struct BuyerInput {
    /// The identifier of the company location.
    pub company_location_id: Option<ID>,
    /// The customer access token retrieved from the Customer Accounts API.
    pub customer_access_token: String,
}

/// Registers `@inContext` on QUERY and MUTATION, with its argument types.
pub struct InContext;

struct Ignored;

impl CustomDirective for Ignored {}

impl CustomDirectiveFactory for InContext {
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("inContext")
    }

    fn register(&self, registry: &mut Registry) {
        let arg = |name: &str, description: &str, ty: String| {
            (
                name.to_string(),
                MetaInputValue {
                    name: name.to_string(),
                    description: Some(description.to_string()),
                    ty,
                    deprecation: Deprecation::NoDeprecated,
                    default_value: None,
                    visible: None,
                    inaccessible: false,
                    tags: Vec::new(),
                    is_secret: false,
                    directive_invocations: Vec::new(),
                },
            )
        };
        let args = [
            arg(
                "buyer",
                "The buyer's identity.",
                <Option<BuyerInput> as InputType>::create_type_info(registry),
            ),
            arg(
                "country",
                "The country code for context. For example, `CA`.",
                <Option<CountryCode> as InputType>::create_type_info(registry),
            ),
            arg(
                "language",
                "The language code for context. For example, `EN`.",
                <Option<LanguageCode> as InputType>::create_type_info(registry),
            ),
            arg(
                "preferredLocationId",
                "The identifier of the customer's preferred location.",
                <Option<ID> as InputType>::create_type_info(registry),
            ),
        ];
        registry.add_directive(MetaDirective {
            name: "inContext".to_string(),
            description: Some(
                "Contextualizes data based on the additional information provided by the directive. For example, you can use the `@inContext(country: CA)` directive to query a product's price in a storefront within the context of Canada.".to_string(),
            ),
            locations: vec![
                async_graphql::registry::__DirectiveLocation::QUERY,
                async_graphql::registry::__DirectiveLocation::MUTATION,
            ],
            args: args.into_iter().collect(),
            is_repeatable: false,
            visible: None,
            composable: None,
        });
    }

    /// Only called for directives on fields, where `@inContext` is not allowed (validation
    /// refuses it there first).
    fn create(
        &self,
        _ctx: &ContextDirective<'_>,
        _directive: &async_graphql::parser::types::Directive,
    ) -> ServerResult<Box<dyn CustomDirective>> {
        Ok(Box::new(Ignored))
    }
}
