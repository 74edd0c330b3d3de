//! CLI entry: parse arguments, load configuration, run one subcommand. Errors are one line on
//! stderr with exit status 2.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use storekey::api::kit::messages::{LAC_DISABLED, LAC_NOT_ALLOWED};
use storekey::auth::clock::SystemClock;
use storekey::auth::oidc::clients::{ClientError, NewClient};
use storekey::auth::one_time::OtcError;
use storekey::auth::secret::{self, Secret};
use storekey::auth::{Auth, CustomerChanges, NewCustomer};
use storekey::config::{Config, ConfigSource, LogFormat, StorageBackend};
use storekey::import::run::ImportOptions;
use storekey::import::Format;
use storekey::metrics::Metrics;
use storekey::model::oidc::OidcClient;
use storekey::model::Customer;
use storekey::store::import::OnConflict;
use storekey::store::{BackupError, RedbStore, Store, StoreError};

#[derive(Parser)]
#[command(
    name = "storekey",
    version,
    about = "Customer sign-in for headless storefronts"
)]
struct Cli {
    /// Configuration file (default ./config.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Database file (overrides storage.path).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL dialects, the admin API, health and metrics.
    Serve {
        /// Listen address IP:PORT (overrides server.listen); port 0 picks a free port.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Print a new random admin key and the config line holding its SHA-256.
    Keygen {
        /// Name recorded in the audit log for actions taken with this key.
        #[arg(long, default_value = "admin")]
        name: String,
    },
    /// Manage customers offline (the server must not be running on the same file).
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Admin one-time codes (Login as Customer).
    #[command(subcommand)]
    Otc(OtcCommand),
    /// Admin users of the console (/admin).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// OpenID Connect clients (relying parties) of the provider (offline: while a server holds
    /// a redb file, use /rest/V1/oidc/clients instead).
    #[command(subcommand)]
    Client(ClientCommand),
    /// The OpenID Connect provider's signing keys.
    #[command(subcommand)]
    Oidc(OidcCommand),
    /// Write a consistent copy of the database to PATH (never over the database itself). While
    /// a server holds the file, asks it through the admin API (needs STOREKEY_ADMIN_KEY), which
    /// writes only into storage.backup_dir, so PATH must then be a file in that directory.
    Backup {
        path: PathBuf,
        /// Replace PATH if it exists.
        #[arg(long)]
        overwrite: bool,
    },
    /// Import customers from a Magento export, a customer_entity dump, a Shopify export or
    /// JSON Lines, keeping their password hashes (offline: no server may hold the database).
    Import {
        file: PathBuf,
        /// magento-csv, magento-entity-csv, shopify-csv or jsonl (default: told from the header).
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        /// What a row whose email is already stored does: skip, update, or fail (stop there).
        #[arg(long, value_parser = parse_on_conflict, default_value = "skip")]
        on_conflict: OnConflict,
        /// Read, check and count everything, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write the JSON report to PATH.
        #[arg(long, value_name = "PATH")]
        report: Option<PathBuf>,
        /// Rows per write transaction.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// Queue a password reset mail to every customer created (10 per second).
        #[arg(long)]
        send_reset: bool,
    },
    /// Write every customer, with its password hash, as JSON Lines (offline).
    Export {
        /// jsonl (the only format).
        #[arg(long, value_parser = ["jsonl"], default_value = "jsonl")]
        format: String,
        /// Write to PATH (created, mode 0600; it holds password hashes) instead of stdout.
        #[arg(long, value_name = "PATH")]
        output: Option<PathBuf>,
    },
    /// Copy every record (customers, credentials, tokens, storefront tokens, replay records,
    /// audit log, admin users) from one store to another, redb or PostgreSQL, either way
    /// (offline: no server may hold a redb file). Ends with a count check (exit 2 on a mismatch).
    Migrate {
        /// The store to copy from: a redb file path or a postgresql:// URL.
        #[arg(long, value_name = "STORE")]
        from: String,
        /// The store to copy into (a redb file is created when missing).
        #[arg(long, value_name = "STORE")]
        to: String,
        /// Copy into a target that already holds customers, tokens or audit entries.
        #[arg(long)]
        force: bool,
    },
}

const NO_KEY_YET: &str = "no signing key to rotate yet: `storekey serve` makes the first one when it starts, signing at once";

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn parse_on_conflict(s: &str) -> Result<OnConflict, String> {
    match s {
        "skip" => Ok(OnConflict::Skip),
        "update" => Ok(OnConflict::Update),
        "fail" => Ok(OnConflict::Fail),
        _ => Err(format!("expected skip, update or fail, not {s:?}")),
    }
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin user and print its one-time setup link (password and TOTP are set
    /// there). While a server holds the file, use POST /rest/V1/admin-users instead.
    Add {
        #[arg(long)]
        name: String,
        /// Let this admin grant or withdraw customers' consent to remote shopping assistance
        /// (which opens Login as Customer); off by default.
        #[arg(long)]
        assistance_consent: bool,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; prints its client_id and, for a confidential client, its secret
    /// (shown this once: only its digest is stored).
    Add {
        #[arg(long)]
        name: String,
        /// Where sign-ins may return (exact match); give it once per URI.
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// Where sign-outs may return; give it once per URI.
        #[arg(long = "post-logout-uri", value_name = "URI")]
        post_logout_uris: Vec<String>,
        /// No secret: the client proves itself with PKCE (a mobile or single-page app).
        #[arg(long)]
        public: bool,
        /// The merchant's own app: customers are not asked for consent.
        #[arg(long)]
        first_party: bool,
        /// A scope the client may be granted; give it once per scope (default: all).
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// Access-token lifetime for this client (default oidc.access_token_minutes).
        #[arg(long, value_name = "N")]
        access_token_minutes: Option<u32>,
        /// Refresh-token lifetime for this client (default oidc.refresh_token_days).
        #[arg(long, value_name = "N")]
        refresh_token_days: Option<u32>,
    },
    /// List the clients, one per line (never a secret).
    List,
    /// Remove a client; the sign-ins it holds end.
    Remove {
        /// A client id may begin with '-'.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

#[derive(Subcommand)]
enum OidcCommand {
    /// Publish the next ID-token signing key; it signs from oidc.key_publish_minutes on, and
    /// the keys before it stay published until the tokens they signed have expired.
    RotateKey,
}

#[derive(Subcommand)]
enum OtcCommand {
    /// Issue a one-time code for a customer and print it (same rules as the admin REST call).
    Issue {
        #[arg(long)]
        email: String,
        /// Recorded in the audit log.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Subcommand)]
enum CustomerCommand {
    /// Create a customer.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        firstname: Option<String>,
        #[arg(long)]
        lastname: Option<String>,
        /// Mark the account confirmed (matters with account.require_confirmation).
        #[arg(long)]
        confirmed: bool,
        /// The customer allows remote shopping assistance (Login as Customer codes).
        #[arg(long)]
        allow_remote_assistance: bool,
    },
    /// List customers, one per line.
    List,
    /// Show one customer as JSON.
    Show { email: String },
    /// Disable a customer (revokes their tokens).
    Disable { email: String },
    /// Enable a customer.
    Enable { email: String },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            eprintln!("storekey: {}", usage_error_line(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("storekey: {message}");
            ExitCode::from(2)
        }
    }
}

/// clap's error as one line: its first, and the indented lines right under it, which name
/// what is missing ("the following required arguments were not provided: --name <NAME>").
fn usage_error_line(text: &str) -> String {
    let mut lines = text.lines();
    let mut line = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    let named: Vec<&str> = lines
        .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
        .map(str::trim)
        .collect();
    if !named.is_empty() {
        line = format!("{} {}", line.trim_end(), named.join(", "));
    }
    line
}

fn load_config(cli: &Cli, listen: Option<&String>) -> Result<Config, String> {
    let source = match &cli.config {
        Some(p) => ConfigSource::Explicit(p),
        None => ConfigSource::Default,
    };
    let mut config = Config::load(source, std::env::vars()).map_err(|e| e.to_string())?;
    if let Some(db) = &cli.db {
        config.storage.path = db.clone();
    }
    if let Some(listen) = listen {
        config.server.listen = listen.clone();
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn run(cli: Cli) -> Result<(), String> {
    match &cli.command {
        Command::Serve { listen } => {
            let config = load_config(&cli, listen.as_ref())?;
            init_logging(&config);
            runtime()?.block_on(serve(config))
        }
        Command::Keygen { name } => {
            let key = secret::new_key("sk_admin_");
            println!("{}", key.expose());
            println!(
                "# add to config.toml under [admin]:\nkeys = [{{ name = \"{name}\", sha256 = \"{}\" }}]",
                hex::encode(key.digest())
            );
            Ok(())
        }
        Command::Customer(cmd) => {
            let config = load_config(&cli, None)?;
            runtime()?.block_on(customer_command(config, cmd))
        }
        Command::Otc(OtcCommand::Issue { email, reason }) => {
            let config = load_config(&cli, None)?;
            runtime()?.block_on(async {
                let auth = offline_auth(config).await?;
                let customer = find(&auth, email).await?;
                let code =
                    auth.issue_otc(customer.id, "cli", reason)
                        .await
                        .map_err(|e| match e {
                            OtcError::NotFound => format!("no customer with email {email}"),
                            OtcError::AssistanceNotAllowed => LAC_NOT_ALLOWED.into(),
                            OtcError::Disabled => LAC_DISABLED.into(),
                            OtcError::Failure(f) => f.to_string(),
                        })?;
                println!("{}", code.expose());
                Ok(())
            })
        }
        Command::Import {
            file,
            format,
            on_conflict,
            dry_run,
            report,
            batch,
            send_reset,
        } => {
            let config = load_config(&cli, None)?;
            let options = ImportOptions {
                path: file.clone(),
                format: *format,
                on_conflict: *on_conflict,
                dry_run: *dry_run,
                batch: *batch as usize,
                send_reset: *send_reset,
                progress: true,
            };
            runtime()?.block_on(import(config, options, report.as_deref()))
        }
        Command::Export { output, .. } => {
            let config = load_config(&cli, None)?;
            runtime()?.block_on(export(&config, output.as_deref()))
        }
        Command::Migrate { from, to, force } => {
            let config = load_config(&cli, None)?;
            runtime()?.block_on(migrate(&config, from, to, *force))
        }
        Command::Admin(AdminCommand::Add {
            name,
            assistance_consent,
        }) => {
            let config = load_config(&cli, None)?;
            let base = format!("http://{}", config.server.listen);
            runtime()?.block_on(async {
                let auth = offline_auth(config).await?;
                let code = auth
                    .add_admin(name, "cli", *assistance_consent)
                    .await
                    .map_err(|e| storekey::api::kit::messages::add_admin_message(&e, name))?;
                println!(
                    "admin user \"{}\" created; open this link within 24 hours to set the password and the authenticator app (shown once):",
                    name.trim()
                );
                println!("{base}{}", storekey::api::console::setup_path(code.expose()));
                Ok(())
            })
        }
        Command::Client(cmd) => {
            let config = load_config(&cli, None)?;
            runtime()?.block_on(client_command(config, cmd))
        }
        Command::Oidc(OidcCommand::RotateKey) => {
            let config = load_config(&cli, None)?;
            let oidc = config.oidc.clone();
            runtime()?.block_on(async {
                use storekey::store::Backend as _;
                let store = storekey::server::open_store(&config).await?;
                // A first key made here would sign only from key_publish_minutes on, and a
                // server finding a key would make none of its own: no ID token until then.
                if store
                    .oidc_keys()
                    .await
                    .map_err(|e| e.to_string())?
                    .is_empty()
                {
                    return Err(NO_KEY_YET.to_string());
                }
                let auth = Auth::from_config(
                    Arc::new(config),
                    store,
                    Arc::new(SystemClock),
                    Arc::new(Metrics::new()),
                )?;
                let key = storekey::auth::oidc::rotate_key(&auth, &oidc, "cli").await?;
                println!("kid: {}", key.kid);
                println!(
                    "signs_from: {} UTC",
                    storekey::api::kit::timestamp(key.signs_from)
                );
                Ok(())
            })
        }
        Command::Backup { path, overwrite } => {
            let config = load_config(&cli, None)?;
            if config.storage.backend != StorageBackend::Redb {
                return Err(BackupError::NotRedb.to_string());
            }
            match RedbStore::open(std::path::Path::new(&config.storage.path)) {
                Ok(store) => {
                    let summary = store.backup_to(path, *overwrite).map_err(|e| match e {
                        BackupError::Exists(p) => format!(
                            "{} already exists; pass --overwrite to replace it",
                            p.display()
                        ),
                        BackupError::LiveDatabase => format!(
                            "{}: refusing to write a backup over the live database file (storage.path)",
                            path.display()
                        ),
                        e => e.to_string(),
                    })?;
                    println!(
                        "backup written to {} ({} customers, {} access tokens)",
                        path.display(),
                        summary.customers,
                        summary.access_tokens
                    );
                    Ok(())
                }
                Err(StoreError::Locked) => backup_through_server(&config, path, *overwrite),
                Err(e) => Err(format!("storage.path {}: {e}", config.storage.path)),
            }
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let server = storekey::server::start(config, Arc::new(SystemClock)).await?;
    // Listen for signals before announcing the address: a harness that reads the line and
    // signals at once must find the handlers installed, not the default action.
    let stop = stop_signal()?;
    // The contract: this is the first line on stdout, so a harness can read the port.
    println!("storekey listening on http://{}", server.addr);
    tracing::info!(addr = %server.addr, "serving");
    stop.await;
    tracing::info!("shutting down: finishing in-flight requests");
    server.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or SIGINT (Ctrl+C), registered now, awaited later.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// `import`: the run, the report file, a summary line; an error (exit 2) for an unreadable
/// file, a store failure, or a conflict under `--on-conflict fail` (after the report).
async fn import(
    config: Config,
    options: ImportOptions,
    report_path: Option<&std::path::Path>,
) -> Result<(), String> {
    // Created before anything is imported, so a refused path (an existing file, a symlink)
    // stops the run with nothing written.
    let report_file = report_path.map(create_private).transpose()?;
    let run = async {
        let store = open_offline(&config).await?;
        let auth = Arc::new(Auth::from_config(
            Arc::new(config),
            store.clone(),
            Arc::new(SystemClock),
            Arc::new(Metrics::new()),
        )?);
        let finished = storekey::import::run::import(&auth, &store, &options).await?;
        Ok::<_, String>((auth, finished))
    };
    let (auth, finished) = match run.await {
        Ok(done) => done,
        Err(e) => {
            // No report to give: the empty file this run created goes.
            if let Some(path) = report_path {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    let report = &finished.report;
    if let (Some(path), Some(mut file)) = (report_path, report_file) {
        use std::io::Write;
        let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
        file.write_all(text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("{}", report.summary());
    if !options.dry_run {
        let left = auth
            .refresh_legacy_hash_gauge()
            .await
            .map_err(|e| e.to_string())?;
        println!("password hashes to be replaced at first sign-in: {left}");
    }
    if report.reset_mails_queued > 0 {
        println!("reset mails queued: {}", report.reset_mails_queued);
    }
    match finished.failure {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// `migrate`: checks, the copy with a progress bar (rows/s) on a terminal, the count check.
async fn migrate(config: &Config, from: &str, to: &str, force: bool) -> Result<(), String> {
    use std::io::IsTerminal;
    use storekey::migrate::{check_endpoints, check_source_exists, copy, Endpoint};
    let (from, to) = (Endpoint::parse(from), Endpoint::parse(to));
    check_endpoints(&from, &to).map_err(|e| e.to_string())?;
    check_source_exists(&from)?;
    // What each PostgreSQL side's connection will be secured with, before connecting.
    for (flag, endpoint) in [("--from", &from), ("--to", &to)] {
        if let Some(Ok(tls)) = endpoint.tls(&config.storage) {
            eprintln!("{flag} {endpoint}: TLS {tls}");
        }
    }
    let source = from.open(&config.storage).await?;
    let target = to.open(&config.storage).await?;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
    {
        bar.set_style(style);
    }
    let report = copy(&source, &target, &to.to_string(), force, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!("copied {from} to {to}");
    for line in report.lines() {
        println!("{line}");
    }
    let wrong = report.mismatches();
    if wrong.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = wrong.iter().map(|t| t.name()).collect();
    Err(format!(
        "count check failed for {}: the target does not hold what was copied",
        names.join(", ")
    ))
}

async fn export(config: &Config, output: Option<&std::path::Path>) -> Result<(), String> {
    use std::io::IsTerminal;
    let store = open_offline(config).await?;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let progress = |n: u64| bar.set_message(format!("{n} customers"));
    let written = match output {
        Some(path) => {
            let file = create_private(path)?;
            let mut out = std::io::BufWriter::new(file);
            storekey::import::export::export(&store, &mut out, progress).await
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            storekey::import::export::export(&store, &mut out, progress).await
        }
    }
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    if let Some(path) = output {
        println!("exported {written} customers to {}", path.display());
    }
    Ok(())
}

async fn open_offline(config: &Config) -> Result<Store, String> {
    storekey::server::open_store_bulk(config).await
}

/// Creates `path` readable by its owner only (reports and exports name customers; exports hold
/// password hashes). Always a new file: an existing one is refused, and so is a symlink, which
/// is never followed (`O_EXCL`), so a link planted at the path cannot redirect the write.
fn create_private(path: &std::path::Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    storekey::store::private_mode(&mut options);
    options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{} already exists (a file or a symlink); give a new path: reports and exports are never written over a file or through a link",
            path.display()
        ),
        _ => format!("{}: {e}", path.display()),
    })
}

async fn offline_auth(config: Config) -> Result<Auth, String> {
    let store = storekey::server::open_store(&config).await?;
    Auth::from_config(
        Arc::new(config),
        store,
        Arc::new(SystemClock),
        Arc::new(Metrics::new()),
    )
}

async fn find(auth: &Auth, email: &str) -> Result<Customer, String> {
    auth.customer_by_email(email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no customer with email {email}"))
}

async fn customer_command(config: Config, cmd: &CustomerCommand) -> Result<(), String> {
    let auth = offline_auth(config).await?;
    match cmd {
        CustomerCommand::Add {
            email,
            password,
            firstname,
            lastname,
            confirmed,
            allow_remote_assistance,
        } => {
            let record = auth
                .create_customer(NewCustomer {
                    email: email.clone(),
                    password: password.clone().map(Secret::new),
                    profile: storekey::auth::Profile {
                        firstname: firstname.clone(),
                        lastname: lastname.clone(),
                        ..Default::default()
                    },
                    confirmed: confirmed.then_some(true),
                    allow_remote_shopping_assistance: *allow_remote_assistance,
                    ..NewCustomer::default()
                })
                .await
                .map_err(|e| describe_account_error(&e, email))?;
            println!("created customer {} <{}>", record.id, record.email);
        }
        CustomerCommand::List => {
            let mut after = storekey::model::CustomerId(0);
            loop {
                let page = auth
                    .customers_page(after, 500)
                    .await
                    .map_err(|e| e.to_string())?;
                if page.is_empty() {
                    break;
                }
                for c in &page {
                    println!(
                        "{}\t{}\t{}",
                        c.id,
                        c.email,
                        if c.disabled { "disabled" } else { "enabled" }
                    );
                    after = c.id;
                }
            }
        }
        CustomerCommand::Show { email } => {
            let c = find(&auth, email).await?;
            println!("{}", storekey::api::customer_json(&c));
        }
        CustomerCommand::Disable { email } | CustomerCommand::Enable { email } => {
            let disabled = matches!(cmd, CustomerCommand::Disable { .. });
            let c = find(&auth, email).await?;
            auth.update_customer(
                c.id,
                CustomerChanges {
                    disabled: Some(disabled),
                    ..CustomerChanges::default()
                },
            )
            .await
            .map_err(|e| describe_account_error(&e, email))?;
            println!(
                "customer {} {}",
                c.email,
                if disabled { "disabled" } else { "enabled" }
            );
        }
    }
    Ok(())
}

async fn client_command(config: Config, cmd: &ClientCommand) -> Result<(), String> {
    let auth = offline_auth(config).await?;
    match cmd {
        ClientCommand::Add {
            name,
            redirect_uris,
            post_logout_uris,
            public,
            first_party,
            scopes,
            access_token_minutes,
            refresh_token_days,
        } => {
            let created = auth
                .add_oidc_client(
                    NewClient {
                        name: name.clone(),
                        redirect_uris: redirect_uris.clone(),
                        post_logout_redirect_uris: post_logout_uris.clone(),
                        public: *public,
                        first_party: *first_party,
                        scopes: scopes.clone(),
                        access_token_minutes: *access_token_minutes,
                        refresh_token_days: *refresh_token_days,
                    },
                    "cli",
                )
                .await
                .map_err(|e| e.to_string())?;
            println!("client_id: {}", created.client.client_id);
            if let Some(secret) = &created.secret {
                println!("client_secret: {}", secret.expose());
            }
        }
        ClientCommand::List => {
            let clients = auth.oidc_clients().await.map_err(|e| e.to_string())?;
            if clients.is_empty() {
                println!("no clients (storekey client add registers one)");
            }
            for line in client_table(&clients) {
                println!("{line}");
            }
        }
        ClientCommand::Remove { client_id } => {
            let name = auth
                .oidc_client(client_id)
                .await
                .map_err(|e| e.to_string())?
                .map(|c| c.name);
            auth.remove_oidc_client(client_id, "cli")
                .await
                .map_err(|e| match e {
                    ClientError::NotFound => format!("no client with client_id {client_id}"),
                    e => e.to_string(),
                })?;
            println!(
                "client {client_id} ({}) removed; its sign-ins have ended",
                printable(&name.unwrap_or_default())
            );
        }
    }
    Ok(())
}

/// `client list`: a header and a line per client, columns padded to line up; the redirect
/// URIs last, comma-separated, so a long one only widens its own line.
fn client_table(clients: &[OidcClient]) -> Vec<String> {
    if clients.is_empty() {
        return Vec::new();
    }
    let mut rows = vec![[
        "CLIENT_ID".to_string(),
        "TYPE".to_string(),
        "FIRST_PARTY".to_string(),
        "NAME".to_string(),
        "REDIRECT_URIS".to_string(),
    ]];
    for c in clients {
        rows.push([
            c.client_id.clone(),
            if c.is_public() {
                "public"
            } else {
                "confidential"
            }
            .to_string(),
            if c.first_party { "yes" } else { "no" }.to_string(),
            printable(&c.name),
            c.redirect_uris.join(", "),
        ]);
    }
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2), width(3)];
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (cell, w) in r.iter().zip(widths) {
                line.push_str(&format!("{cell:<w$}  "));
            }
            line.push_str(&r[4]);
            line
        })
        .collect()
}

/// A name as the terminal should show it: control characters (which a name registered through
/// the admin API may hold) become U+FFFD rather than reaching the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

fn describe_account_error(e: &storekey::auth::AccountError, email: &str) -> String {
    use storekey::auth::AccountError::*;
    match e {
        InvalidEmail => format!("--email: \"{email}\" is not a valid email address"),
        EmailTaken => format!("--email: a customer with email {email} already exists"),
        Policy(p) => format!("--password: {p}"),
        TooLong(field) => storekey::api::kit::messages::field_too_long(*field),
        NotFound => format!("no customer with email {email}"),
        other => format!("{other:?}"),
    }
}

/// `backup` while a server holds the file: `POST /rest/V1/backup` on `server.listen` with
/// `STOREKEY_ADMIN_KEY`. A plain HTTP/1.1 exchange on loopback; no client library needed.
/// The server takes only a file name inside `storage.backup_dir`, so PATH must be one.
fn backup_through_server(
    config: &Config,
    path: &std::path::Path,
    overwrite: bool,
) -> Result<(), String> {
    use std::io::{Read, Write};
    let key = config.admin.env_key.clone().ok_or_else(|| {
        "the database is in use by a running server; set STOREKEY_ADMIN_KEY to back up through its admin API (POST /rest/V1/backup)".to_string()
    })?;
    let name = name_in_backup_dir(path, std::path::Path::new(&config.storage.backup_dir))
        .ok_or_else(|| {
            format!(
                "the database is in use by a running server, which writes backups only into storage.backup_dir ({}); give a path in that directory",
                config.storage.backup_dir
            )
        })?;
    let absolute = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let body = serde_json::json!({ "path": name, "overwrite": overwrite }).to_string();
    let mut stream = std::net::TcpStream::connect(&config.server.listen)
        .map_err(|e| format!("server.listen {}: {e}", config.server.listen))?;
    let request = format!(
        "POST /rest/V1/backup HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        config.server.listen,
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("admin API: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("admin API: {e}"))?;
    let status_ok = response.starts_with("HTTP/1.1 200");
    let payload = response.split("\r\n\r\n").nth(1).unwrap_or("").trim();
    if status_ok {
        println!(
            "backup written to {} by the running server: {payload}",
            absolute.display()
        );
        Ok(())
    } else {
        Err(format!("admin API refused the backup: {payload}"))
    }
}

/// The file name of `path` when its directory is `backup_dir` (same path, or the same directory
/// once both are resolved), else None.
fn name_in_backup_dir(path: &std::path::Path, backup_dir: &std::path::Path) -> Option<String> {
    let name = path.file_name()?.to_str()?.to_string();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let same = |a: &std::path::Path, b: &std::path::Path| {
        matches!((std::path::absolute(a), std::path::absolute(b)), (Ok(x), Ok(y)) if x == y)
            || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    };
    same(parent, backup_dir).then_some(name)
}
