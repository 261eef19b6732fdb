use std::process::ExitCode;

use bamex::app::Application;
use bamex::config::Settings;
use bamex::{cli, secrets, telemetry};
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
    /// Write fresh production secrets (JWT, document keys and hash key, badge signing key) to
    /// an env file for Docker Compose, mode 0600; prints only the names written. Needs no
    /// settings and no database.
    Secrets {
        /// The file to create, e.g. `.env.production` (what docker-compose.yml reads).
        #[arg(long)]
        env_file: std::path::PathBuf,
        /// Replace an existing file. Its keys are lost: document numbers they encrypted become
        /// unreadable and the badges they signed stop verifying.
        #[arg(long)]
        force: bool,
    },
    /// Print the OpenAPI document (JSON) to standard output; needs no database or settings.
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before the settings: neither needs them (`secrets` is how a production deployment gets
    // the secrets its settings require).
    let early = match &cli.command {
        Some(Command::Openapi) => Some(cli::print_openapi()),
        Some(Command::Secrets { env_file, force }) => {
            Some(secrets::write_env_file(env_file, *force))
        }
        _ => None,
    };
    if let Some(outcome) = early {
        return exit_code(outcome);
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
        Command::Secrets { .. } | Command::Openapi => {
            unreachable!("handled before the settings are loaded")
        }
    };
    exit_code(outcome)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}

fn exit_code(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bamex: {e:#}");
            ExitCode::FAILURE
        }
    }
}
