//! `mfstack migrate status|up`: the schema of a database this machine can reach, or with
//! `--stack-name`, of a deployed stack's database through its migration function.

use std::process::ExitCode;

use crate::database::DatabaseArgs;
#[cfg(feature = "deploy")]
use crate::stack::{AwsArgs, StackArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum, default_value = "status")]
    pub action: Action,
    /// Work on a deployed stack's database, through its migration function.
    #[cfg(feature = "deploy")]
    #[arg(long)]
    pub stack_name: Option<String>,
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[cfg(feature = "deploy")]
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Show the schema version and pending migrations; changes nothing.
    Status,
    /// Apply pending migrations.
    Up,
}

/// Print the schema status, upgrading first for `up`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "deploy")]
    if let Some(stack_name) = args.stack_name {
        let stack = StackArgs {
            stack_name,
            aws: args.aws,
        };
        return on_stack::run(args.action, &stack).await;
    }
    let store = args.db.open().await?;
    if args.action == Action::Up {
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

/// The stack side. Its database sits in private subnets, and the schema status is served only on
/// the service's internal migration port, so the stack's migration function is the one way in.
#[cfg(feature = "deploy")]
mod on_stack {
    use std::process::ExitCode;

    use mfstack_deployer::migration::{self, SchemaStatus};
    use mfstack_template::components::migrations::OUT_FUNCTION_NAME;

    use super::Action;
    use crate::stack::StackArgs;

    /// `up` invokes the function; `status` does not, because the function upgrades whenever it
    /// runs.
    pub async fn run(action: Action, args: &StackArgs) -> anyhow::Result<ExitCode> {
        let stack = args.deployed().await?;
        let function = stack.require(OUT_FUNCTION_NAME)?;
        let name = &args.stack_name;
        if action == Action::Status {
            println!("Stack {name} migrates its database with the function {function}.");
            println!(
                "The function upgrades the schema whenever it runs, so `migrate status` does not invoke it;"
            );
            println!("each deploy that changes the service image runs it.");
            println!(
                "To report, upgrade if behind, and report again: mfstack migrate up --stack-name {name}"
            );
            return Ok(ExitCode::SUCCESS);
        }
        println!("Invoking {function}...");
        let report = migration::invoke(&stack.aws, function)
            .await
            .map_err(|e| stack.explain(e))?;
        if let Some(before) = &report.before {
            println!("Before:  {}", describe(before));
        }
        if !report.upgrade.is_empty() {
            println!("Upgrade: {}", report.upgrade.trim());
        }
        println!("After:   {}", describe(&report.after));
        Ok(if report.after.up_to_date == Some(false) {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }

    fn describe(s: &SchemaStatus) -> String {
        let state = match s.up_to_date {
            Some(true) => "up to date",
            Some(false) => "behind",
            None => "unknown",
        };
        let version = s.version.as_deref().unwrap_or("?");
        if s.unapplied.is_empty() {
            format!("version {version}, {state}")
        } else {
            format!(
                "version {version}, {state}; unapplied: {}",
                s.unapplied.join(", ")
            )
        }
    }
}
