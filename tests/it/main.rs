//! The one integration-test binary (fast to link): every module drives a real server, in
//! process on 127.0.0.1:0 against a temp file, or the real binary where the CLI is the subject.

#[path = "../support/postgres.rs"]
mod postgres;
#[path = "../support/smtp_sink.rs"]
mod smtp_sink;
mod support;

mod abuse;
mod account_code;
mod account_register;
mod account_reset;
mod activation;
mod addresses;
mod admin;
mod cli;
mod commerce;
mod console;
mod console_passkeys;
mod diskfull;
mod email_verified;
mod explorer;
mod files;
mod fuzz;
mod gate;
mod gate_fuzz;
mod instances;
mod limits;
mod lockout;
mod magento;
mod migrate;
mod migration;
mod oidc;
mod oidc_authorize;
mod oidc_clients;
mod oidc_keys;
mod oidc_logout;
mod oidc_races;
mod oidc_sign_in;
mod oidc_token;
mod oidc_userinfo;
mod one_time;
mod outage;
mod passkeys;
mod pg;
mod pg_store;
mod registration;
mod repeats;
mod schema;
mod shutdown;
mod smtp;
mod soft_passkey;
mod storefront;
mod storefront_tokens;
mod timing;
mod tokens;
mod transport;
