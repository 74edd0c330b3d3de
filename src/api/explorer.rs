//! The GraphiQL explorer on `GET` of either GraphQL path: the page, and the files it loads, all
//! embedded in the binary (`assets/`), so the explorer works on a machine without internet. The
//! page carries a strict Content-Security-Policy and loads nothing from another host.

use super::{json_response, HttpResponse};
use serde_json::json;
use std::sync::OnceLock;
use warp::http::{header, HeaderValue, Response, StatusCode};
use warp::hyper::Body;
use warp::Filter;

/// Every asset path starts with this; the next segment names the package and its version.
pub const ASSETS_PREFIX: &str = "/explorer";

/// The page's policy. `style-src 'self'` alone: GraphiQL's stylesheet is a file, and the styles
/// it sets at run time go through the CSSOM (`element.style`), which CSP does not govern.
/// `font-src data:`: the stylesheet embeds its fonts (Roboto, Fira Code) as `data:` URLs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; font-src data:; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A file the page loads: the path segment naming its package and version, its name, type and
/// bytes. The vendored files come from npm tarballs (assets/graphiql/README.md says which).
struct Asset {
    tag: Tag,
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The path segment before a file's name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    /// A vendored package: its name and version.
    Vendored(&'static str),
    /// storekey's own files (see `storekey_tag`).
    Storekey,
}

impl Tag {
    fn as_str(self) -> &'static str {
        match self {
            Tag::Vendored(t) => t,
            Tag::Storekey => storekey_tag(),
        }
    }
}

/// In the order the page loads them (React before ReactDOM before GraphiQL before our init).
const ASSETS: [Asset; 6] = [
    Asset {
        tag: Tag::Vendored("graphiql-3.8.3"),
        name: "graphiql.min.css",
        content_type: CSS,
        bytes: include_bytes!("../../assets/graphiql/graphiql-3.8.3/graphiql.min.css"),
    },
    Asset {
        tag: Tag::Storekey,
        name: "explorer.css",
        content_type: CSS,
        bytes: include_bytes!("../../assets/explorer/explorer.css"),
    },
    Asset {
        tag: Tag::Vendored("react-18.3.1"),
        name: "react.production.min.js",
        content_type: JS,
        bytes: include_bytes!("../../assets/graphiql/react-18.3.1/react.production.min.js"),
    },
    Asset {
        tag: Tag::Vendored("react-dom-18.3.1"),
        name: "react-dom.production.min.js",
        content_type: JS,
        bytes: include_bytes!("../../assets/graphiql/react-dom-18.3.1/react-dom.production.min.js"),
    },
    Asset {
        tag: Tag::Vendored("graphiql-3.8.3"),
        name: "graphiql.min.js",
        content_type: JS,
        bytes: include_bytes!("../../assets/graphiql/graphiql-3.8.3/graphiql.min.js"),
    },
    Asset {
        tag: Tag::Storekey,
        name: "explorer.js",
        content_type: JS,
        bytes: include_bytes!("../../assets/explorer/explorer.js"),
    },
];

/// storekey's own files change without a version number of their own, so their path carries
/// a digest of their content: a long cache lifetime never serves a stale init script.
fn storekey_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for a in ASSETS.iter().filter(|a| a.tag == Tag::Storekey) {
            ctx.update(a.name.as_bytes());
            ctx.update(a.bytes);
        }
        format!("storekey-{}", &hex::encode(ctx.finish())[..12])
    })
}

fn asset_path(a: &Asset) -> String {
    format!("{ASSETS_PREFIX}/{}/{}", a.tag.as_str(), a.name)
}

/// Which GraphQL dialect an explorer page talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Commerce,
    Storefront,
}

impl Dialect {
    fn name(self) -> &'static str {
        match self {
            Dialect::Commerce => "commerce",
            Dialect::Storefront => "storefront",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Dialect::Commerce => "Commerce",
            Dialect::Storefront => "Storefront",
        }
    }
}

/// The explorer page for a GraphQL path (or 404 when `server.graphiql` is off). `endpoint` is
/// the path the page's requests go to: the path it is served on.
pub fn page(enabled: bool, dialect: Dialect, endpoint: &str) -> HttpResponse {
    if !enabled {
        return disabled();
    }
    let mut head = String::new();
    for a in &ASSETS {
        let path = asset_path(a);
        if a.content_type == CSS {
            head.push_str(&format!("<link rel=\"stylesheet\" href=\"{path}\">\n"));
        } else {
            head.push_str(&format!("<script src=\"{path}\" defer></script>\n"));
        }
    }
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>storekey explorer · {title}</title>\n{head}</head>\n<body>\n\
         <div id=\"graphiql\" data-endpoint=\"{endpoint}\" data-dialect=\"{dialect}\">\
         Loading the explorer…</div>\n</body>\n</html>\n",
        title = dialect.title(),
        endpoint = escape_attribute(endpoint),
        dialect = dialect.name(),
    );
    let mut resp = Response::new(Body::from(html));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    super::kit::security_headers(h, CONTENT_SECURITY_POLICY, "no-cache");
    resp
}

fn disabled() -> HttpResponse {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({ "message": "The explorer is disabled (server.graphiql = false)." }),
    )
}

fn escape_attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An embedded file whose path carries its version or content hash: cached for a year,
/// never sniffed. The explorer's and the admin console's assets both answer with it.
pub(crate) fn embedded_file(content_type: &'static str, bytes: &'static [u8]) -> HttpResponse {
    let mut resp = Response::new(Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// `GET /explorer/{package-version}/{file}`: the embedded files, cached for a year (the path
/// changes with the content). An unknown path is the usual 404.
pub fn assets(
    enabled: bool,
) -> impl Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone {
    warp::path!("explorer" / String / String)
        .and(warp::get())
        .and_then(move |tag: String, name: String| async move {
            let Some(a) = ASSETS
                .iter()
                .find(|a| a.tag.as_str() == tag && a.name == name)
            else {
                return Err(warp::reject::not_found());
            };
            if !enabled {
                return Ok(disabled());
            }
            Ok(embedded_file(a.content_type, a.bytes))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storekeys_own_files_share_one_digest_tag() {
        let tag = storekey_tag();
        assert!(tag.starts_with("storekey-") && tag.len() == "storekey-".len() + 12);
        assert_eq!(
            asset_path(&ASSETS[5]),
            format!("/explorer/{tag}/explorer.js")
        );
    }

    #[test]
    fn an_endpoint_cannot_break_out_of_its_attribute() {
        assert_eq!(
            escape_attribute("/a\"><script>&"),
            "/a&quot;&gt;&lt;script&gt;&amp;"
        );
    }
}
