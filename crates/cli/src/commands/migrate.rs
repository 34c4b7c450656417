//! `mfstack migrate status|up`: the schema of a database this machine can reach. With
//! `--stack-name`, the deployed stack's migration function does the work instead.

use std::process::ExitCode;

#[cfg(feature = "deploy")]
use super::{aws::AwsArgs, migrate_stack};
use crate::database::DatabaseArgs;

/// Flags of `mfstack migrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[arg(value_enum, default_value = "status")]
    pub action: Action,
    /// Migrate a deployed stack's database through its migration function instead.
    #[cfg(feature = "deploy")]
    #[arg(long)]
    pub stack_name: Option<String>,
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[cfg(feature = "deploy")]
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `migrate` actions.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Action {
    /// Show the schema version and pending migrations.
    Status,
    /// Apply pending migrations.
    Up,
}

/// Print the schema status, upgrading first for `up`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "deploy")]
    if let Some(stack_name) = args.stack_name {
        // The stack's function reports status, upgrades, then reports again, whatever the action.
        return migrate_stack::run(migrate_stack::Args {
            stack_name,
            aws: args.aws,
        })
        .await;
    }
    let store = args.db.open().await?;
    if let Action::Up = args.action {
        let outcome = store.upgrade().await?;
        if outcome.applied.is_empty() {
            println!("already up to date at version {}", outcome.current_version);
        } else {
            for v in &outcome.applied {
                println!("applied {v}");
            }
        }
    }
    let status = store.schema_status().await?;
    println!("database:        {}", store.describe());
    println!("current version: {}", status.current_version);
    println!(
        "up to date:      {}",
        if status.is_up_to_date { "yes" } else { "no" }
    );
    if !status.unapplied_migrations.is_empty() {
        println!(
            "pending:         {}",
            status.unapplied_migrations.join(", ")
        );
        println!("run `mfstack migrate up` to apply them");
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
