//! `Customer.orders`: storekey keeps no orders, so the field is declared with Magento's types
//! (Alokai's and Luma's customer-order documents validate) and always resolves to an error that
//! names it, never to an empty list a storefront would show as "no orders yet".

use async_graphql::{Enum, InputObject, SimpleObject, ID};

/// The answer to any selection of `orders`.
pub use crate::api::gate::NO_ORDERS;

/// The error `Customer.orders` resolves to.
pub(super) fn no_orders() -> async_graphql::Error {
    super::error("graphql-no-such-entity", NO_ORDERS)
}

/// The collection of orders that match the conditions defined in the filter.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerOrders {
    /// An array of customer orders.
    pub items: Vec<Option<CustomerOrder>>,
    /// Contains pagination metadata.
    pub page_info: Option<SearchResultPageInfo>,
    /// The total count of customer orders.
    pub total_count: Option<i32>,
    /// The date of the first order placed in the store.
    pub date_of_first_order: Option<String>,
}

/// Contains details about each of the customer's orders.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerOrder {
    /// The unique ID for a `CustomerOrder` object.
    pub id: ID,
    /// The order number.
    pub number: String,
    /// The date the order was placed.
    pub order_date: String,
    /// The current status of the order.
    pub status: String,
    /// The date the order was created.
    pub created_at: Option<String>,
    /// The total amount of the order.
    pub grand_total: Option<f64>,
}

/// Provides navigation for the query response.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct SearchResultPageInfo {
    /// The specific page to return.
    pub current_page: Option<i32>,
    /// The maximum number of items to return per page of results.
    pub page_size: Option<i32>,
    /// The total number of pages in the response.
    pub total_pages: Option<i32>,
}

/// Identifies the filter to use for filtering orders.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerOrdersFilterInput {
    /// Filters by order number.
    pub number: Option<FilterStringTypeInput>,
}

/// Defines a filter for an input string.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct FilterStringTypeInput {
    /// Filters items that are exactly the same as the specified string.
    pub eq: Option<String>,
    /// Filters items that are exactly the same as entries specified in an array of strings.
    #[graphql(name = "in")]
    pub any_of: Option<Vec<Option<String>>>,
    /// Defines a filter that performs a fuzzy search using the specified string.
    #[graphql(name = "match")]
    pub matches: Option<String>,
}

/// The sort order of customer orders.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerOrderSortInput {
    /// This enumeration indicates whether to return results in ascending or descending order.
    pub sort_direction: SortEnum,
    /// Specifies the field to use for sorting.
    pub sort_field: CustomerOrderSortableField,
}

/// Indicates whether to return results in ascending or descending order.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SortEnum {
    Asc,
    Desc,
}

/// Specifies the field to use for sorting.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CustomerOrderSortableField {
    /// Sorts customer orders by number.
    Number,
    /// Sorts customer orders by created_at field.
    CreatedAt,
}

/// This enumeration defines the scope type for customer orders.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ScopeTypeEnum {
    Global,
    Website,
    Store,
}
