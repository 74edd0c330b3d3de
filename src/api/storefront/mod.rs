//! The Shopify Storefront dialect on `POST /api/{version}/graphql.json`: `http.rs` takes a
//! request from its headers to the gate (storefront tokens, the caller), `resolvers.rs` holds
//! the GraphQL roots that call the core, and `errors.rs` maps the core's errors to Shopify's
//! codes and messages (every message once, one function per core error enum).

mod addresses;
mod codes;
mod errors;
mod http;
mod in_context;
mod orders;
mod reset_url;
mod resolvers;
#[cfg(test)]
mod tests;
mod types;

use crate::auth::storefront_tokens::{StorefrontToken, READ_CUSTOMERS, WRITE_CUSTOMERS};
use crate::auth::Auth;
pub use addresses::{
    CustomerAddressCreatePayload, CustomerAddressDeletePayload, CustomerAddressUpdatePayload,
    CustomerDefaultAddressUpdatePayload, MailingAddress, MailingAddressConnection,
    MailingAddressInput,
};
use async_graphql::{EmptySubscription, Schema};
pub use errors::*;
pub use http::{
    handle, routes, valid_version, BUYER_IP_HEADER, PRIVATE_TOKEN_HEADER, PUBLIC_TOKEN_HEADER,
    UNAUTHORIZED_BODY,
};
pub use orders::*;
use resolvers::require_scope;
pub use resolvers::{Mutation, QueryRoot};
use std::net::IpAddr;
use std::sync::Arc;
pub use types::*;

pub type StorefrontSchema = Schema<QueryRoot, Mutation, EmptySubscription>;

/// Who is calling: the storefront token that let the request in, and the client address.
pub struct StorefrontCaller {
    pub token: StorefrontToken,
    pub ip: Option<IpAddr>,
}

pub fn build_schema(auth: &Arc<Auth>, server: &crate::config::ServerConfig) -> StorefrontSchema {
    Schema::build(QueryRoot, Mutation, EmptySubscription)
        .data(auth.clone())
        .register_output_type::<DisplayableError>()
        .directive(in_context::InContext)
        .limit_depth(server.max_query_depth)
        .limit_complexity(server.max_query_complexity)
        .finish()
}
