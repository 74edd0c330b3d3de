//! Reading a password-reset link back for `customerResetByUrl`: the link storekey mailed (made
//! from `reset.url_template`), or Shopify's own `/account/reset/<id>/<token>` form. Activation
//! links (`customerActivateByUrl`) read the same way, with `account.activation_url_template`
//! and Shopify's `/account/activate/<id>/<token>`; the host is never checked (the token is the
//! secret, and a storefront may sit on any domain).

use crate::model::CustomerId;

/// Whose password a reset link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetSubject {
    Email(String),
    Id(CustomerId),
}

/// What a reset link carries. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetLink {
    pub subject: ResetSubject,
    pub token: String,
}

impl std::fmt::Debug for ResetLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetLink")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Reads a reset link: first against the configured template (placeholders `{email}`,
/// `{token}`, `{id}`), then as any URL with `token` and `email` (or `id`) query parameters,
/// then as Shopify's `/account/reset/<id>/<token>` path.
pub fn parse(url: &str, template: &str) -> Option<ResetLink> {
    parse_with(url, template, "/account/reset/")
}

/// Reads an activation link: the configured template, then `token` and `id` (or `email`) query
/// parameters, then Shopify's `/account/activate/<id>/<token>` path.
pub fn parse_activation(url: &str, template: &str) -> Option<ResetLink> {
    parse_with(url, template, "/account/activate/")
}

fn parse_with(url: &str, template: &str, shopify_path: &str) -> Option<ResetLink> {
    let url = url.trim();
    from_template(url, template)
        .or_else(|| from_query(url))
        .or_else(|| from_shopify_path(url, shopify_path))
}

#[derive(Default)]
struct Fields {
    email: Option<String>,
    token: Option<String>,
    id: Option<String>,
}

impl Fields {
    fn set(&mut self, name: &str, value: String) {
        match name {
            "email" => self.email = Some(value),
            "token" => self.token = Some(value),
            "id" => self.id = Some(value),
            _ => {}
        }
    }

    fn into_link(self) -> Option<ResetLink> {
        let token = self.token.filter(|t| !t.is_empty())?;
        let subject = match (self.email, self.id) {
            (Some(email), _) if !email.is_empty() => ResetSubject::Email(email),
            (_, Some(id)) => ResetSubject::Id(CustomerId(id.parse().ok()?)),
            _ => return None,
        };
        Some(ResetLink { subject, token })
    }
}

enum Piece<'a> {
    Literal(&'a str),
    Placeholder(&'a str),
}

fn template_pieces(template: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        if open > 0 {
            pieces.push(Piece::Literal(&rest[..open]));
        }
        pieces.push(Piece::Placeholder(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest));
    }
    pieces
}

/// Matches `url` against the template: literals exactly, each placeholder up to the next
/// literal (or the end).
fn from_template(url: &str, template: &str) -> Option<ResetLink> {
    let pieces = template_pieces(template);
    let mut fields = Fields::default();
    let mut pos = 0;
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal(lit) => {
                if !url[pos..].starts_with(lit) {
                    return None;
                }
                pos += lit.len();
            }
            Piece::Placeholder(name) => {
                let end = match pieces.get(i + 1) {
                    Some(Piece::Literal(next)) => pos + url[pos..].find(next)?,
                    // Two placeholders in a row cannot be told apart.
                    Some(Piece::Placeholder(_)) => return None,
                    None => url.len(),
                };
                fields.set(name, crate::api::percent_decode(&url[pos..end])?);
                pos = end;
            }
        }
    }
    if pos != url.len() {
        return None;
    }
    fields.into_link()
}

fn from_query(url: &str) -> Option<ResetLink> {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let (_, query) = without_fragment.split_once('?')?;
    let mut fields = Fields::default();
    for pair in query.split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            fields.set(name, crate::api::percent_decode(value)?);
        }
    }
    fields.into_link()
}

fn from_shopify_path(url: &str, prefix: &str) -> Option<ResetLink> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let (_, tail) = path.split_once(prefix)?;
    let mut parts = tail.trim_end_matches('/').split('/');
    let (Some(id), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    Fields {
        id: Some(id.to_string()),
        token: Some(crate::api::percent_decode(token)?),
        email: None,
    }
    .into_link()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str =
        "http://localhost:3000/customer/account/createPassword/?email={email}&token={token}";

    fn email_link(email: &str, token: &str) -> Option<ResetLink> {
        Some(ResetLink {
            subject: ResetSubject::Email(email.into()),
            token: token.into(),
        })
    }

    #[test]
    fn default_template_link() {
        let url = "http://localhost:3000/customer/account/createPassword/?email=nic%2Bshop%40example.com&token=0123abcd";
        assert_eq!(
            parse(url, DEFAULT),
            email_link("nic+shop@example.com", "0123abcd")
        );
    }

    #[test]
    fn custom_template_with_id() {
        let t = "https://shop.example/reset/{id}/{token}";
        assert_eq!(
            parse("https://shop.example/reset/42/abc", t),
            Some(ResetLink {
                subject: ResetSubject::Id(CustomerId(42)),
                token: "abc".into()
            })
        );
    }

    #[test]
    fn other_host_with_query_parameters() {
        assert_eq!(
            parse("https://shop.example/pw?token=t1&email=a%40b.co#x", DEFAULT),
            email_link("a@b.co", "t1")
        );
    }

    #[test]
    fn shopify_path_form() {
        assert_eq!(
            parse(
                "https://shop.myshopify.com/account/reset/6655363669/7c4a5966d0901b57?syclid=1",
                DEFAULT
            ),
            Some(ResetLink {
                subject: ResetSubject::Id(CustomerId(6655363669)),
                token: "7c4a5966d0901b57".into()
            })
        );
    }

    #[test]
    fn activation_links_in_the_default_and_shopify_forms() {
        const ACTIVATE: &str = "http://localhost:3000/account/activate/{id}/{token}";
        let id_link = |id, token: &str| {
            Some(ResetLink {
                subject: ResetSubject::Id(CustomerId(id)),
                token: token.into(),
            })
        };
        assert_eq!(
            parse_activation("http://localhost:3000/account/activate/7/0a1b", ACTIVATE),
            id_link(7, "0a1b")
        );
        assert_eq!(
            parse_activation(
                "https://jsmith.myshopify.com/account/activate/207119551/77b31d25-1702308028",
                "https://shop.example/welcome?id={id}&t={token}"
            ),
            id_link(207119551, "77b31d25-1702308028")
        );
        assert_eq!(
            parse_activation("https://shop.example/account/reset/7/0a1b", ACTIVATE),
            None,
            "a reset link is no activation link"
        );
        assert_eq!(
            parse("https://shop.example/account/activate/7/0a1b", DEFAULT),
            None,
            "nor the other way round"
        );
    }

    #[test]
    fn garbage_is_refused() {
        for url in [
            "",
            "not a url",
            "https://x/?email=a@b.co",
            "https://x/?token=abc",
            "https://x/account/reset/abc/tok",
            "https://x/?email=a%ZZ&token=t",
        ] {
            assert_eq!(parse(url, DEFAULT), None, "{url}");
        }
    }
}
