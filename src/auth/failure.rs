//! [`Failure`]: what no client can mend, one variant of every error enum of the core. Each
//! adapter maps it in one function (`failure`), so a busy hash pool and an unavailable store
//! answer the same way wherever they arise.

use super::password::HashError;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The hash pool's queue is full: ask again shortly (503 with `Retry-After`).
    Busy,
    /// The store failed: 503 with `Retry-After` when it `is_unavailable`, else 500.
    Storage(StoreError),
    /// Neither the client's nor the store's (the hash pool failed, the mail could not be
    /// queued, ...): 500.
    Internal(String),
}

impl Failure {
    /// Whether asking again later may succeed (busy, or the store unreachable for now).
    pub fn is_retryable(&self) -> bool {
        match self {
            Failure::Busy => true,
            Failure::Storage(e) => e.is_unavailable(),
            Failure::Internal(_) => false,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Busy => f.write_str("the password hash queue is full"),
            Failure::Storage(e) => e.fmt(f),
            Failure::Internal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Failure {}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Storage(e)
    }
}

/// A fault described in words (an invariant the adapter found broken, a mail not queued).
impl From<String> for Failure {
    fn from(m: String) -> Self {
        Failure::Internal(m)
    }
}

impl From<&str> for Failure {
    fn from(m: &str) -> Self {
        Failure::Internal(m.to_owned())
    }
}

impl From<HashError> for Failure {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Failure::Busy,
            HashError::Failed(m) => Failure::Internal(m),
        }
    }
}

/// `From<StoreError>`, `From<HashError>` and `From<Failure>` for a core error enum with a
/// `Failure(Failure)` variant.
macro_rules! failure_variant {
    ($($error:ident),* $(,)?) => {$(
        impl From<$crate::auth::Failure> for $error {
            fn from(f: $crate::auth::Failure) -> Self {
                $error::Failure(f)
            }
        }
        impl From<$crate::store::StoreError> for $error {
            fn from(e: $crate::store::StoreError) -> Self {
                $error::Failure(e.into())
            }
        }
        impl From<$crate::auth::password::HashError> for $error {
            fn from(e: $crate::auth::password::HashError) -> Self {
                $error::Failure(e.into())
            }
        }
    )*};
}
pub(crate) use failure_variant;
