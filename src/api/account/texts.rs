//! Every word the hosted customer pages show, in one place per language. English is the
//! default; a language is added by adding a `Texts` and a line in `for_locales`.

/// One language's words.
pub struct Texts {
    /// The `lang` attribute.
    pub lang: &'static str,
    pub brand: &'static str,
    pub sign_in_title: &'static str,
    pub continue_to: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    /// The one refusal of every failed sign-in (Adobe Commerce's words): it never says
    /// whether the email has an account.
    pub sign_in_refused: &'static str,
    pub not_confirmed: &'static str,
    pub busy: &'static str,
    pub unavailable: &'static str,
    pub form_expired: &'static str,
    pub account_title: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    pub signed_out_title: &'static str,
    pub signed_out: &'static str,
    pub consent_title: &'static str,
    pub consent_intro: &'static str,
    pub allow: &'static str,
    pub deny: &'static str,
    pub refused_title: &'static str,
    pub not_found_title: &'static str,
    pub not_found: &'static str,
    /// What each scope lets an app read (the consent page).
    pub scope_openid: &'static str,
    pub scope_email: &'static str,
    pub scope_profile: &'static str,
    pub scope_address: &'static str,
    pub scope_phone: &'static str,
    pub scope_offline_access: &'static str,
}

pub const EN: Texts = Texts {
    lang: "en",
    brand: "Store account",
    sign_in_title: "Sign in",
    continue_to: "to continue to",
    email: "Email",
    password: "Password",
    sign_in: "Sign in",
    sign_in_refused: "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.",
    not_confirmed: "This account is not confirmed. Please check your email for the confirmation link.",
    busy: "The server is busy. Please try again shortly.",
    unavailable: "Sign-in is unavailable right now. Please try again shortly.",
    form_expired: "This form has expired. Please try again.",
    account_title: "Your account",
    signed_in_as: "Signed in as",
    sign_out: "Sign out",
    signed_out_title: "Signed out",
    signed_out: "You are signed out.",
    consent_title: "Allow access?",
    consent_intro: "Share the following with",
    allow: "Allow",
    deny: "Deny",
    refused_title: "This sign-in link is not valid",
    not_found_title: "Not found",
    not_found: "There is no such page.",
    scope_openid: "that it is you",
    scope_email: "your email address",
    scope_profile: "your name",
    scope_address: "your address",
    scope_phone: "your phone number",
    scope_offline_access: "access while you are away",
};

/// The texts for an `ui_locales` / `Accept-Language` list (the first language known wins).
pub fn for_locales(_locales: Option<&str>) -> &'static Texts {
    &EN
}

impl Texts {
    pub fn scope(&self, scope: &str) -> &'static str {
        match scope {
            "email" => self.scope_email,
            "profile" => self.scope_profile,
            "address" => self.scope_address,
            "phone" => self.scope_phone,
            "offline_access" => self.scope_offline_access,
            _ => self.scope_openid,
        }
    }
}
