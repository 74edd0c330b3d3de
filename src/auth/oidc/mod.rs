//! The OpenID Connect provider's use cases (SPEC §10): authorize, redeem a code, refresh,
//! userinfo, logout, and the signing keys behind the ID tokens.

pub mod clients;
pub mod keys;
pub mod session;
