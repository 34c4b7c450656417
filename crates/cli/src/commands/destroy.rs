//! `mfstack destroy`: delete the stack, saying first what goes and what stays.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use mfstack_deployer::destroy::{self, DeletionProtection, DestroyPlan, Kept};

use crate::drawer::{Drawer, causes};
use crate::hint::hinted;
use crate::stack::StackArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Also empty and delete the retained data bucket (irreversible).
    #[arg(long)]
    pub delete_data: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Show the plan, confirm, delete, and report.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = &args.stack.stack_name;
    let aws = args.stack.connect().await?;
    let plan = destroy::destroy_plan(&aws, name)
        .await
        .map_err(|e| args.stack.explain(e))?;
    show_plan(&plan, &args)?;
    if !args.yes && !confirmed(name)? {
        println!("Nothing deleted.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut drawer = Drawer::new(true);
    let poll = Duration::from_secs(5);
    let report = match destroy::destroy(&aws, &plan, args.delete_data, poll, &mut drawer).await {
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
            return Err(args.stack.explain(e));
        }
    };
    for b in &report.buckets_removed {
        println!("Emptied and deleted bucket {b}");
    }
    println!("Stack {name} deleted ({}).", report.status);
    Ok(ExitCode::SUCCESS)
}

/// Say what goes and what stays; refuse when the database cannot be deleted at all.
fn show_plan(plan: &DestroyPlan, args: &Args) -> anyhow::Result<()> {
    let name = &args.stack.stack_name;
    println!(
        "Deleting stack {name} deletes {} resource(s).",
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
        DeletionProtection::Off => Ok(()),
        DeletionProtection::Parameter(parameter) => {
            println!(
                "Deletion protection on the database is turned off first (an update setting {parameter}=false), then the stack is deleted."
            );
            Ok(())
        }
        // Deleting would fail at the database after everything else is gone: refuse up front.
        DeletionProtection::Fixed(ids) => Err(hinted(
            format!(
                "deletion protection on {} is written into the stack's template, so CloudFormation \
                 cannot delete it; nothing was deleted",
                ids.join(", ")
            ),
            format!(
                "run `mfstack deploy --stack-name {name}` with this version first (the protection becomes \
                 the DatabaseDeletionProtection parameter), then destroy again"
            ),
        )),
    }
}

/// Ask on the terminal; with no terminal to ask on, refuse rather than guess.
fn confirmed(name: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(hinted(
            "not deleting without confirmation",
            "pass --yes to delete without a prompt",
        ));
    }
    print!("Delete stack {name}? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
