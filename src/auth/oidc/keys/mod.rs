//! ID-token signing keys: generated once, sealed under the key-encryption key in the store,
//! opened into memory to sign (RS256 with ring) and to publish (the JWKS).
