use std::process::ExitCode;

use bamex::app::Application;
use bamex::config::Settings;
use bamex::{cli, telemetry};
use clap::{Parser, Subcommand};

/// BAMEX accreditation backend.
#[derive(Parser)]
#[command(name = "bamex", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default): creates and migrates the database first.
    Serve,
    /// Create the database if needed and apply pending migrations.
    Migrate,
    /// Create an admin account, or promote an existing one; the password is read from stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Load demo data (idempotent).
    SeedDemo,
    /// Purge the personal data of events whose retention period is over (the service also does
    /// it every hour).
    Purge {
        /// Only print which events would be purged, with their participant counts.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the OpenAPI document (JSON) to standard output; needs no database or settings.
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        return match cli::print_openapi() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bamex: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("bamex: {e}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(&settings.log);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => cli::migrate(&settings).await,
        Command::CreateAdmin { email, name } => cli::create_admin(&settings, &email, &name).await,
        Command::SeedDemo => cli::seed_demo(&settings).await,
        Command::Purge { dry_run } => cli::purge(&settings, dry_run).await,
        Command::Openapi => cli::print_openapi(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bamex: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}
