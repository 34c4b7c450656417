//! `mfstack destroy`: delete the stack, saying first what goes and what stays.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use mfstack_deployer::operate::{self, DeletionProtection, Kept};

use super::aws::{AwsArgs, explain};
use super::progress::{Drawer, causes};
use crate::hint::hinted;

/// Arguments of `mfstack destroy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudFormation stack name.
    #[arg(long)]
    pub stack_name: String,
    /// Also empty and delete the retained data bucket (irreversible).
    #[arg(long)]
    pub delete_data: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Show the plan, confirm, delete, and report.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.aws.load().await?;
    let plan = operate::destroy_plan(&aws, &args.stack_name)
        .await
        .map_err(|e| explain(e, &args.aws))?;
    println!(
        "Deleting stack {} deletes {} resource(s).",
        args.stack_name,
        plan.deleted.len()
    );
    if !plan.kept.is_empty() {
        println!("These stay after the stack is gone:");
        for (r, k) in &plan.kept {
            let how = match (k, r.resource_type.as_str()) {
                (Kept::Retained, "AWS::S3::Bucket") if args.delete_data => {
                    "retained by the stack, then emptied and deleted (--delete-data)"
                }
                (Kept::Retained, "AWS::S3::Bucket") => {
                    "retained with all flow data (--delete-data removes it)"
                }
                (Kept::Retained, _) => "retained",
                (Kept::Snapshot, _) => "deleted after a final snapshot, which is kept",
            };
            println!(
                "  {:<28} {:<24} {}  [{how}]",
                r.resource_type, r.logical_id, r.physical_id
            );
        }
    }
    match &plan.protection {
        DeletionProtection::Off => {}
        DeletionProtection::Parameter(name) => println!(
            "Deletion protection on the database is turned off first (an update setting {name}=false), then the stack is deleted."
        ),
        DeletionProtection::Fixed(ids) => {
            // Deleting would fail at the database after everything else is gone: refuse up front.
            return Err(hinted(
                format!(
                    "deletion protection on {} is written into the stack's template, so CloudFormation \
                     cannot delete it; nothing was deleted",
                    ids.join(", ")
                ),
                format!(
                    "run `mfstack deploy --stack-name {}` with this version first (the protection becomes \
                     the DatabaseDeletionProtection parameter), then destroy again",
                    args.stack_name
                ),
            ));
        }
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(hinted(
                "not deleting without confirmation",
                "pass --yes to delete without a prompt",
            ));
        }
        print!("Delete stack {}? [y/N] ", args.stack_name);
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("Nothing deleted.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let mut drawer = Drawer::new(true);
    let report = match operate::destroy(
        &aws,
        &plan,
        args.delete_data,
        Duration::from_secs(5),
        &mut drawer,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            if let mfstack_deployer::Error::DeployFailed {
                causes: c, status, ..
            } = &e
            {
                eprintln!("{}", causes(c));
                if status.starts_with("UPDATE") {
                    eprintln!("Turning off deletion protection failed, so nothing was deleted.");
                }
            }
            return Err(explain(e, &args.aws));
        }
    };
    for b in &report.buckets_removed {
        println!("Emptied and deleted bucket {b}");
    }
    println!("Stack {} deleted ({}).", args.stack_name, report.status);
    Ok(ExitCode::SUCCESS)
}
