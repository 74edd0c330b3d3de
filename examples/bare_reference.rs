//! The bare reference of the load benchmark (issue 15): the least a warp 0.3 + async-graphql 7
//! server can do to answer storekey's two cheapest queries, so the benchmark can say how much
//! CPU per request storekey adds on top of the stack it is built on. It holds one customer in
//! memory behind one access token and serves, on POST `/graphql` and POST
//! `/api/{version}/graphql.json`:
//!
//! - `{ customer { email firstname firstName } }` with `Authorization: Bearer <token>`, or
//!   `customer(customerAccessToken: "<token>")` (the Storefront dialect's form);
//! - `{ __typename }`.
//!
//! Not part of the shipped binary. `benches/load.rs` runs it (the same code, included as a module,
//! in a process of its own); by hand:
//! `cargo run --release --example bare_reference -- --listen 127.0.0.1:8090 --token T`.
//! The first line on stdout is `bare reference listening on http://ADDR`.

use async_graphql::{Context, EmptyMutation, EmptySubscription, Object, Schema};
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use warp::Filter;

/// The one customer's email, first name and token unless given on the command line.
pub const DEFAULT_EMAIL: &str = "bench@example.com";
pub const DEFAULT_FIRSTNAME: &str = "Bench";
pub const DEFAULT_TOKEN: &str = "bare-reference-token";

/// The one customer, and the only token that reads it.
struct Account {
    email: String,
    firstname: String,
    token: String,
}

/// The Bearer token of the request, if any.
struct Bearer(Option<String>);

struct Customer<'a>(&'a Account);

#[Object]
impl Customer<'_> {
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn firstname(&self) -> &str {
        &self.0.firstname
    }
    #[graphql(name = "firstName")]
    async fn first_name(&self) -> &str {
        &self.0.firstname
    }
}

struct Query;

#[Object]
impl Query {
    /// The customer the token belongs to: the argument (Storefront) or the Bearer header.
    async fn customer<'c>(
        &self,
        ctx: &Context<'c>,
        customer_access_token: Option<String>,
    ) -> async_graphql::Result<Customer<'c>> {
        let account = ctx.data::<Account>()?;
        let bearer = ctx.data_opt::<Bearer>().and_then(|b| b.0.as_deref());
        let given = customer_access_token.as_deref().or(bearer).unwrap_or("");
        // Constant time, as a real token check would be.
        let same = given.len() == account.token.len()
            && given
                .bytes()
                .zip(account.token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(Customer(account))
        } else {
            Err("The request is allowed for logged in customer only.".into())
        }
    }
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// Serves until killed. `args`: `--listen ADDR` (default 127.0.0.1:0), `--token`, `--email`,
/// `--firstname`.
pub fn serve(args: &[String]) -> Result<(), String> {
    let listen: SocketAddr = arg(args, "--listen", "127.0.0.1:0")
        .parse()
        .map_err(|e| format!("--listen: {e}"))?;
    let account = Account {
        email: arg(args, "--email", DEFAULT_EMAIL),
        firstname: arg(args, "--firstname", DEFAULT_FIRSTNAME),
        token: arg(args, "--token", DEFAULT_TOKEN),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async move {
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .data(account)
            .finish();
        let path = warp::path!("graphql")
            .or(warp::path!("api" / String / "graphql.json")
                .map(|_: String| ())
                .untuple_one())
            .unify();
        let routes = warp::post()
            .and(path)
            .and(warp::header::optional::<String>("authorization"))
            .and(async_graphql_warp::graphql(schema))
            .and_then(
                |authorization: Option<String>,
                 (schema, request): (
                    Schema<Query, EmptyMutation, EmptySubscription>,
                    async_graphql::Request,
                )| async move {
                    let bearer = authorization
                        .as_deref()
                        .and_then(|h| h.strip_prefix("Bearer "))
                        .map(str::to_string);
                    let response = schema.execute(request.data(Bearer(bearer))).await;
                    Ok::<_, Infallible>(async_graphql_warp::GraphQLResponse::from(response))
                },
            );
        let (addr, server) = warp::serve(routes)
            .try_bind_ephemeral(listen)
            .map_err(|e| format!("listen on {listen}: {e}"))?;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "bare reference listening on http://{addr}");
        let _ = out.flush();
        server.await;
        Ok(())
    })
}

#[allow(dead_code)] // the load bench calls `serve` and has its own main
pub fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match serve(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare_reference: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
