//! The `kehu` command line: configuration, app assembly and commands.

pub mod app;
pub mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Kehu (客户): customer operations in one binary, on SQLite or PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "kehu", version, about, long_about = None)]
pub struct Cli {
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`.
    /// Default: a SQLite file in the data directory.
    #[arg(long, env = "KEHU_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Where the default SQLite database and other state live.
    #[arg(long, env = "KEHU_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (API and web UI); migrations are applied on start.
    Serve(commands::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create and change users.
    #[command(subcommand)]
    User(commands::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(commands::TokenCommand),
    /// Check (and optionally repair) the per-customer order aggregates.
    Aggregates(commands::AggregatesArgs),
    /// Fill the database with a realistic demo organisation and customers.
    Demo(commands::DemoArgs),
    /// Import customers, contacts or orders from a CSV or XLSX file.
    Import(commands::ImportArgs),
    /// Export the customers you can see (optionally filtered) as CSV or XLSX.
    Export(commands::ExportArgs),
    /// Compute RFM, pyramid, A–E groups, lifecycle, selection scores and
    /// CLV for every customer and store them; or, with --orders, run the
    /// same models on a transactions file and write the results to --out.
    Analyze(commands::AnalyzeArgs),
}

impl Cli {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("kehu.db").display()),
        }
    }
}

/// Parses arguments, runs the command, maps failures to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KEHU_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx::query=error,sqlx::postgres::notice=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
