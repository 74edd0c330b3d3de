//! The GraphiQL explorer is self-hosted: the page on both dialect paths, its strict CSP, and
//! every file it loads served by storekey itself (nothing from another host).

use crate::support::TestServer;

const COMMERCE: &str = "/graphql";
const STOREFRONT: &str = "/api/2026-04/graphql.json";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; font-src data:; \
                   img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// Every `src` and `href` attribute value in an HTML document, in order.
fn asset_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    let lower = html.to_ascii_lowercase();
    for name in [" src=", " href="] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(name) {
            let start = from + i + name.len();
            let rest = &html[start..];
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
                _ => rest
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or(""),
            };
            urls.push(value.to_string());
            from = start;
        }
    }
    urls
}

async fn page(s: &TestServer, path: &str) -> (reqwest::header::HeaderMap, String) {
    let resp = s.http.get(s.url(path)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    let headers = resp.headers().clone();
    (headers, resp.text().await.unwrap())
}

#[tokio::test]
async fn the_explorer_answers_on_both_dialect_paths_with_a_strict_csp() {
    let s = TestServer::start().await;
    for path in [COMMERCE, STOREFRONT] {
        let (headers, html) = page(&s, path).await;
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(headers["content-security-policy"], CSP, "{path}");
        // Each page sends its requests to its own endpoint.
        assert!(
            html.contains(&format!("data-endpoint=\"{path}\"")),
            "{path}: {html}"
        );
        assert!(html.contains("storekey explorer"), "{path}");
    }
}

#[tokio::test]
async fn the_explorer_page_has_no_inline_script_or_style() {
    let s = TestServer::start().await;
    for path in [COMMERCE, STOREFRONT] {
        let (_, html) = page(&s, path).await;
        let lower = html.to_ascii_lowercase();
        let scripts = lower.matches("<script").count();
        let with_src = lower.matches("<script src=").count();
        assert!(scripts >= 4, "{path}: {html}");
        assert_eq!(scripts, with_src, "an inline script on {path}: {html}");
        assert!(!lower.contains("<style"), "{path}: {html}");
        assert!(!lower.contains(" style="), "{path}: {html}");
        assert!(!lower.contains(" onload="), "{path}: {html}");
    }
}

#[tokio::test]
async fn every_url_of_the_explorer_is_a_file_the_server_serves() {
    let s = TestServer::start().await;
    for path in [COMMERCE, STOREFRONT] {
        let (_, html) = page(&s, path).await;
        let urls = asset_urls(&html);
        // React, ReactDOM, GraphiQL and storekey's init script; GraphiQL's and storekey's CSS.
        assert_eq!(
            urls.iter().filter(|u| u.ends_with(".js")).count(),
            4,
            "{urls:?}"
        );
        assert_eq!(
            urls.iter().filter(|u| u.ends_with(".css")).count(),
            2,
            "{urls:?}"
        );
        for url in &urls {
            assert!(
                url.starts_with("/explorer/") && !url.contains("//") && !url.contains(".."),
                "{url} is not a path on this server"
            );
            let resp = s.http.get(s.url(url)).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200, "{url}");
            let expected = if url.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else {
                "text/css; charset=utf-8"
            };
            assert_eq!(resp.headers()["content-type"], expected, "{url}");
            assert_eq!(
                resp.headers()["cache-control"],
                "public, max-age=31536000, immutable",
                "{url}"
            );
            assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
            let body = resp.bytes().await.unwrap();
            assert!(body.len() > 100, "{url} is empty");
            // Nothing the page loads names another host to fetch from.
            if url.ends_with(".css") {
                let css = String::from_utf8_lossy(&body);
                assert!(!css.contains("@import"), "{url}");
                assert!(!css.contains("url(http"), "{url}");
                assert!(!css.contains("url(//"), "{url}");
            }
        }
    }
}

#[tokio::test]
async fn the_vendored_files_are_the_npm_builds() {
    let s = TestServer::start().await;
    let (_, html) = page(&s, COMMERCE).await;
    let urls = asset_urls(&html);
    let body = |name: &str| {
        let url = urls
            .iter()
            .find(|u| u.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not in {urls:?}"))
            .clone();
        let s = &s;
        async move {
            s.http
                .get(s.url(&url))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(body("/react-18.3.1/react.production.min.js")
        .await
        .contains("react.production.min.js"));
    assert!(body("/react-dom-18.3.1/react-dom.production.min.js")
        .await
        .contains("18.3.1"));
    assert!(body("/graphiql-3.8.3/graphiql.min.js")
        .await
        .contains("window.GraphiQL ="));
    assert!(body("/explorer.js")
        .await
        .contains("X-Shopify-Storefront-Access-Token"));
}

#[tokio::test]
async fn an_unknown_explorer_file_answers_404() {
    let s = TestServer::start().await;
    for path in [
        "/explorer/graphiql-3.8.3/graphiql.js",
        "/explorer/graphiql-3.0.0/graphiql.min.js",
        "/explorer/storekey-000000000000/explorer.js",
        "/explorer/graphiql-3.8.3",
        "/explorer/graphiql-3.8.3/graphiql.min.js/x",
        "/explorer/",
    ] {
        let resp = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["message"], "Not found.", "{path}");
    }
}

#[tokio::test]
async fn with_the_explorer_off_its_files_are_not_served_either() {
    let s = TestServer::start().await;
    let (_, html) = page(&s, COMMERCE).await;
    let urls = asset_urls(&html);
    let off = TestServer::start_with(|c| c.server.graphiql = false).await;
    for url in &urls {
        let resp = off.http.get(off.url(url)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{url}");
    }
    let resp = off.http.get(off.url(STOREFRONT)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

/// What the Storefront explorer's introspection needs: a valid storefront token, of any scope
/// (introspection reads no customer); without one the endpoint answers 401 like everything else,
/// which is why the page asks for the token before it loads the schema.
#[tokio::test]
async fn storefront_introspection_needs_a_token_and_no_scope() {
    let s = TestServer::start().await;
    let introspect = |token: Option<String>| {
        let mut req = s
            .http
            .post(s.url(STOREFRONT))
            .json(&serde_json::json!({"query": "{ __schema { queryType { name } } }"}));
        if let Some(t) = token {
            req = req.header("X-Shopify-Storefront-Access-Token", t);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    assert_eq!(
        introspect(None).await,
        (
            401,
            r#"{"errors":[{"message":"","extensions":{"code":"UNAUTHORIZED"}}]}"#.to_string()
        )
    );
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/storefront-tokens",
            Some(serde_json::json!({"title": "explorer", "scopes": []})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    let (status, text) = introspect(Some(token)).await;
    assert_eq!(status, 200, "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        body["data"]["__schema"]["queryType"]["name"].is_string(),
        "{text}"
    );
}
