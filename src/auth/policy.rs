//! The rules the core applies, built once from the configuration: token lifetimes, lockout,
//! the password policy, confirmation, admin codes, reset links and the Multipass key. The core
//! reads these, never the configuration file's shape.

use super::multipass::MultipassKey;
use crate::config::{Config, PasswordConfig};
use crate::model::TokenKind;

#[derive(Debug, Clone)]
pub struct Policy {
    pub commerce_token_ttl: i64,
    pub storefront_token_ttl: i64,
    /// Adobe Commerce's lockout: `max_failures` failures lock for `lock_minutes`; either at 0
    /// turns counting off.
    pub lockout_max_failures: u32,
    pub lockout_minutes: u32,
    pub password: PasswordConfig,
    pub require_confirmation: bool,
    pub revoke_all_on_logout: bool,
    pub otc_enabled: bool,
    pub otc_ttl: i64,
    pub reset_ttl_hours: u32,
    /// The reset link mailed to customers (`{email}`, `{token}`, `{id}` filled in).
    pub reset_url_template: String,
    /// How long an account invite's activation token lives, in days.
    pub activation_ttl_days: u32,
    /// The activation link mailed with an invite (`{id}`, `{token}`, `{email}` filled in).
    pub activation_url_template: String,
    /// `None` when Multipass is off (no secret).
    pub multipass_key: Option<MultipassKey>,
    pub multipass_max_age: i64,
    pub multipass_max_skew: i64,
    /// The sweeper: how often it runs and how many entries one write purges.
    pub sweep_interval: std::time::Duration,
    pub sweep_batch: usize,
    /// The hosted pages' browser session: idle and absolute lifetime, in seconds.
    pub browser_session_idle: i64,
    pub browser_session_max: i64,
    /// How long a mailed sign-in code lives, in seconds (`oidc.login_code_minutes`).
    pub login_code_ttl: i64,
}

impl Policy {
    pub fn from_config(c: &Config) -> Policy {
        Policy {
            commerce_token_ttl: i64::from(c.tokens.commerce_ttl_minutes) * 60,
            storefront_token_ttl: i64::from(c.tokens.storefront_ttl_days) * 86_400,
            lockout_max_failures: c.lockout.max_failures,
            lockout_minutes: c.lockout.lock_minutes,
            password: c.password.clone(),
            require_confirmation: c.account.require_confirmation,
            revoke_all_on_logout: c.tokens.revoke_all_on_logout,
            otc_enabled: c.otc.enabled,
            otc_ttl: i64::from(c.otc.ttl_seconds),
            reset_ttl_hours: c.reset.ttl_hours,
            browser_session_idle: i64::from(c.oidc.session_idle_days) * 86_400,
            browser_session_max: i64::from(c.oidc.session_max_days) * 86_400,
            login_code_ttl: i64::from(c.oidc.login_code_minutes) * 60,
            reset_url_template: c.reset.url_template.clone(),
            activation_ttl_days: c.account.activation_ttl_days,
            activation_url_template: c.account.activation_url_template.clone(),
            multipass_key: MultipassKey::new(&c.multipass.secret),
            multipass_max_age: i64::from(c.multipass.max_age_minutes) * 60,
            multipass_max_skew: i64::from(c.multipass.max_skew_seconds),
            sweep_interval: std::time::Duration::from_secs(c.sweeper.interval_seconds),
            sweep_batch: c.sweeper.batch,
        }
    }

    /// How long a token of `kind` lives.
    pub fn token_ttl(&self, kind: TokenKind) -> i64 {
        match kind {
            TokenKind::Commerce => self.commerce_token_ttl,
            TokenKind::Storefront => self.storefront_token_ttl,
        }
    }
}
