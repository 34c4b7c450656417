//! `mfstack encrypt-database`: encrypt an unencrypted database the only way RDS allows, as a
//! procedure the user sees and confirms: snapshot, encrypted copy with the stack's key, restore
//! into a new instance through `mfstack deploy`, switch. Each snapshot has a fixed name, so a run
//! interrupted midway can be run again and picks up where it stopped.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use mfstack_deployer::database::{self, Database};
use mfstack_template::components::storage::kms::KMS_KEY;
use mfstack_template::params::DATABASE_SNAPSHOT;

use super::configure::ProfileArgs;
use super::deploy;
use crate::hint::hinted;
use crate::stack::StackArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Go ahead without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Seconds between status polls.
    #[arg(long, default_value_t = 15, hide = true)]
    pub poll_seconds: u64,
}

/// The two snapshots of the procedure, named after the stack so a rerun finds them.
pub fn snapshot_names(stack: &str) -> (String, String) {
    let name = |purpose: &str| {
        database::snapshot_name(stack, purpose, 0)
            .trim_end_matches("-0")
            .to_string()
    };
    (name("unencrypted"), name("encrypted"))
}

/// What the user agrees to: the steps, and what each costs them.
pub fn plan_text(stack: &str, db: &Database, key: &str, plain: &str, encrypted: &str) -> String {
    format!(
        "Encrypting database {id} of stack {stack} (PostgreSQL {version}, {gb} GB). RDS cannot \
         encrypt an instance in place, so:\n  \
         1. snapshot {plain}: writes made after it starts are NOT in the encrypted copy, so stop \
         runs and schedules first; Metaflow keeps reading meanwhile.\n  \
         2. copy it to {encrypted}, encrypted with the stack's KMS key {key}.\n  \
         3. mfstack deploy with {param}={encrypted}: CloudFormation creates a new instance from \
         the copy, then deletes the old one (keeping its final snapshot).\n  \
         4. the metadata service switches to the new instance as its tasks restart.\n\
         The database is unavailable to Metaflow from step 3 until the new instance is ready. \
         RDS gives no estimate; steps 1 to 3 usually take 20 to 60 minutes for a database of this \
         size. Both snapshots stay until you delete them. If this stops midway, run the same \
         command again.",
        id = db.instance_id,
        version = db.engine_version,
        gb = db.allocated_gb,
        param = DATABASE_SNAPSHOT,
    )
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.stack.connect().await?;
    let name = &args.stack.stack_name;
    let explain = |e| args.stack.explain(e);
    let db = database::of_stack(&aws, name).await.map_err(explain)?;
    if db.encrypted {
        println!("Database {} is already encrypted.", db.instance_id);
        return Ok(ExitCode::SUCCESS);
    }
    let key = database::physical_id(&aws, name, KMS_KEY)
        .await
        .map_err(|_| {
            hinted(
                format!("stack {name} has no KMS key ({KMS_KEY}) to encrypt with"),
                format!("run `mfstack deploy --stack-name {name}` first; it adds the key"),
            )
        })?;
    let (plain, encrypted) = snapshot_names(name);
    println!("{}", plan_text(name, &db, &key, &plain, &encrypted));
    if !args.yes && !confirmed()? {
        println!("Nothing was changed.");
        return Ok(ExitCode::SUCCESS);
    }
    let poll = Duration::from_secs(args.poll_seconds.max(1));
    println!("Step 1: snapshot {plain}...");
    database::snapshot(&aws, &db, &plain, poll)
        .await
        .map_err(explain)?;
    println!("Step 2: encrypted copy {encrypted}...");
    database::copy_encrypted(&aws, &plain, &encrypted, &key, poll)
        .await
        .map_err(explain)?;
    println!("Steps 3 and 4: restore from {encrypted} and switch, through mfstack deploy.");
    deploy::run(restore_args(&args, &encrypted)).await
}

/// The deploy that restores: the snapshot parameter set, and the database's replacement allowed,
/// since its data is in the snapshot the new instance is made from.
fn restore_args(args: &Args, snapshot: &str) -> deploy::Args {
    deploy::Args {
        stack: args.stack.clone(),
        params: vec![(DATABASE_SNAPSHOT.to_string(), snapshot.to_string())],
        enable_ui: false,
        yes: true,
        allow_data_replacement: true,
        postgres_major: None,
        artifacts_bucket: None,
        template_file: None,
        nested_templates: Vec::new(),
        service_image: Some(deploy::ImageArg::Keep),
        service_binary: None,
        poll_seconds: args.poll_seconds,
        profile: ProfileArgs {
            name: None,
            default_profile: false,
            metaflow_home: None,
        },
    }
}

fn confirmed() -> anyhow::Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(hinted(
            "not encrypting without confirmation",
            "pass --yes to go ahead without a prompt",
        ));
    }
    print!("Go ahead? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_names_each_step_its_snapshots_and_the_downtime() {
        let (plain, encrypted) = snapshot_names("mf");
        assert_eq!(plain, "mfstack-mf-unencrypted");
        assert_eq!(encrypted, "mfstack-mf-encrypted");
        let db = Database {
            instance_id: "db-1".into(),
            engine: "postgres".into(),
            engine_version: "11.5".into(),
            encrypted: false,
            allocated_gb: 20,
        };
        let text = plan_text("mf", &db, "key-1", &plain, &encrypted);
        for part in [
            "1. snapshot mfstack-mf-unencrypted",
            "2. copy it to mfstack-mf-encrypted, encrypted with the stack's KMS key key-1",
            "3. mfstack deploy with DatabaseSnapshotIdentifier=mfstack-mf-encrypted",
            "unavailable to Metaflow from step 3",
            "RDS gives no estimate",
            "run the same command again",
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }
    }
}
