//! storekey: customer sign-in for headless storefronts, in one binary. See README.md.

pub mod api;
pub mod auth;
pub mod config;
pub mod connections;
pub mod import;
pub mod mail;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod server;
pub mod store;
pub mod sweeper;
