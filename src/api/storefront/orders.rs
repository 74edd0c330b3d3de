//! `Customer.orders`: storekey keeps no orders, so the field is declared with Shopify's
//! arguments and a small `OrderConnection` (Hydrogen's account documents validate) and always
//! resolves to an error that names it, never to an empty list a storefront would show as
//! "no orders yet". Unlike Shopify's `OrderConnection!` it is nullable, so the error nulls only
//! `orders` and the rest of the customer still arrives.

use super::addresses::PageInfo;
use super::types::DateTime;
use async_graphql::{
    Enum, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value, ID,
};

/// The answer to any selection of `orders`.
pub use crate::api::gate::NO_ORDERS;

/// The error `Customer.orders` resolves to.
pub(super) fn no_orders() -> async_graphql::Error {
    async_graphql::Error::new(NO_ORDERS)
}

/// An auto-generated type for paginating through multiple Orders.
#[derive(SimpleObject)]
pub struct OrderConnection {
    /// A list of edges.
    pub edges: Vec<OrderEdge>,
    /// A list of the nodes contained in OrderEdge.
    pub nodes: Vec<Order>,
    /// Information to aid in pagination.
    pub page_info: PageInfo,
    /// The total count of Orders.
    pub total_count: UnsignedInt64,
}

/// An auto-generated type which holds one Order and a cursor during pagination.
#[derive(SimpleObject)]
pub struct OrderEdge {
    /// A cursor for use in pagination.
    pub cursor: String,
    /// The item at the end of OrderEdge.
    pub node: Order,
}

/// An order is a customer’s completed request to purchase one or more products from a shop.
#[derive(SimpleObject)]
pub struct Order {
    /// A globally-unique ID.
    pub id: ID,
    /// Unique identifier for the order that appears on the order (`#1000`).
    pub name: String,
    /// A unique numeric identifier for the order for use by shop owner and customer.
    pub order_number: i32,
    /// The date and time when the order was imported.
    pub processed_at: DateTime,
    /// The customer's email address.
    pub email: Option<String>,
}

/// The set of valid sort keys for the Order query.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderSortKeys {
    /// Sort by the `processed_at` value.
    ProcessedAt,
    /// Sort by the `total_price` value.
    TotalPrice,
    /// Sort by the `id` value.
    Id,
    /// Sort by relevance to the search terms when the `query` parameter is specified.
    Relevance,
}

/// An unsigned 64-bit integer, sent as a string in JSON (Shopify's `UnsignedInt64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnsignedInt64(pub u64);

/// An unsigned 64-bit integer. Represents whole numeric values between 0 and 2^64 - 1 encoded
/// as a string of base-10 digits.
#[Scalar(name = "UnsignedInt64")]
impl ScalarType for UnsignedInt64 {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s
                .parse()
                .map(UnsignedInt64)
                .map_err(|_| InputValueError::custom("expected an unsigned 64-bit integer")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}
