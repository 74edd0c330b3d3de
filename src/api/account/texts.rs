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
    /// RP-initiated logout that does not name this browser's session asks first.
    pub sign_out_question: &'static str,
    pub consent_title: &'static str,
    pub consent_intro: &'static str,
    pub allow: &'static str,
    pub deny: &'static str,
    pub refused_title: &'static str,
    pub not_found_title: &'static str,
    pub not_found: &'static str,
    // Sign-in with a mailed code.
    pub code_title: &'static str,
    pub code_intro: &'static str,
    pub send_code: &'static str,
    /// The one answer to "email me a code", whether or not the address has an account.
    pub code_sent: &'static str,
    pub code: &'static str,
    pub code_hint: &'static str,
    /// The one refusal of every failed code (wrong, spent, expired, voided, no account).
    pub code_refused: &'static str,
    pub send_another_code: &'static str,
    pub use_code_instead: &'static str,
    pub use_password_instead: &'static str,
    // Create account.
    pub register_title: &'static str,
    pub register_intro: &'static str,
    pub create_account: &'static str,
    pub continue_button: &'static str,
    /// The one answer to "create account", whether or not the address has an account.
    pub register_code_sent: &'static str,
    pub register_code_refused: &'static str,
    pub register_throttled: &'static str,
    pub new_password: &'static str,
    pub firstname: &'static str,
    pub lastname: &'static str,
    pub optional: &'static str,
    pub field_too_long: &'static str,
    pub invalid_email: &'static str,
    pub have_account: &'static str,
    // Forgot password.
    pub forgot_title: &'static str,
    pub forgot_intro: &'static str,
    pub forgot_link: &'static str,
    pub send_link: &'static str,
    /// The one answer to a reset request, whether or not the address has an account.
    pub reset_sent: &'static str,
    pub reset_title: &'static str,
    pub set_password: &'static str,
    pub reset_refused: &'static str,
    pub reset_done: &'static str,
    pub back_to_sign_in: &'static str,
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
    sign_out_question: "Sign out of your store account on this device?",
    consent_title: "Allow access?",
    consent_intro: "Share the following with",
    allow: "Allow",
    deny: "Deny",
    refused_title: "This sign-in link is not valid",
    not_found_title: "Not found",
    not_found: "There is no such page.",
    code_title: "Sign in with a code",
    code_intro: "We will email you a 6-digit code to sign in.",
    send_code: "Email me a code",
    code_sent: "If an account exists for that address, we sent a code to it.",
    code: "Code",
    code_hint: "6 digits, from the email",
    code_refused: "That code is not valid. Check the email, or ask for a new code.",
    send_another_code: "Send another code",
    use_code_instead: "Email me a sign-in code instead",
    use_password_instead: "Sign in with a password",
    register_title: "Create account",
    register_intro: "We will email you a code to verify your address.",
    create_account: "Create account",
    continue_button: "Continue",
    register_code_sent: "We sent an email to that address. Enter the code from it to create your account.",
    register_code_refused: "That code is not valid. Check the email, or start again for a new code.",
    register_throttled: "Too many accounts were created from here. Please try again later.",
    new_password: "New password",
    firstname: "First name",
    lastname: "Last name",
    optional: "optional",
    field_too_long: "A name is too long.",
    invalid_email: "Please enter a valid email address.",
    have_account: "Already have an account? Sign in",
    forgot_title: "Forgot password",
    forgot_intro: "We will email you a link to set a new password.",
    forgot_link: "Forgot password?",
    send_link: "Email me a link",
    reset_sent: "If an account exists for that address, we sent a link to set a new password.",
    reset_title: "Set a new password",
    set_password: "Set password",
    reset_refused: "This link is not valid or has expired. Please ask for a new one.",
    reset_done: "Your password is set. Please sign in.",
    back_to_sign_in: "Back to sign in",
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
    /// A password the policy refuses, in this language (English: the words of the core's
    /// policy, Adobe Commerce's).
    pub fn policy(&self, e: &crate::auth::password::PolicyError) -> String {
        e.to_string()
    }

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
