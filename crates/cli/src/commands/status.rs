//! `mfstack status`: where the stack stands.

use std::process::ExitCode;

use mfstack_deployer::services::{self, ServiceImage};
use mfstack_deployer::status;

use crate::drawer::causes;
use crate::stack::StackArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
}

/// Print status, reason, last change and failed resources; exit 1 when the stack does not exist.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = &args.stack.stack_name;
    let aws = args.stack.connect().await?;
    let Some(s) = status::status(&aws, name)
        .await
        .map_err(|e| args.stack.explain(e))?
    else {
        println!("Stack {name} does not exist in {}.", aws.region());
        return Ok(ExitCode::FAILURE);
    };
    println!("Stack:    {name} ({})", aws.region());
    println!("Status:   {}", s.status);
    if let Some(r) = &s.reason {
        println!("Reason:   {r}");
    }
    if let Some(t) = &s.updated {
        println!("Changed:  {t}");
    }
    println!("Outputs:  {}", s.outputs);
    if !s.failed.is_empty() {
        println!("{}", causes(&s.failed));
    }
    let running = services::services(&aws, name)
        .await
        .map_err(|e| args.stack.explain(e))?;
    if !running.is_empty() {
        println!("{}", services_text(&running));
    }
    Ok(ExitCode::SUCCESS)
}

/// Each ECS service: its tasks, the image its task definition names, and the digest its running
/// tasks pulled, which after a rollout tells whether the new image serves.
fn services_text(services: &[ServiceImage]) -> String {
    let mut out = vec!["Services:".to_string()];
    for s in services {
        if let Some(why) = &s.unknown {
            out.push(format!("  {}: unknown ({why})", s.logical_id));
            continue;
        }
        out.push(format!(
            "  {}: {}/{} task(s) running",
            s.logical_id, s.running, s.desired
        ));
        if let Some(image) = &s.image {
            out.push(format!("    image:   {image}"));
        }
        let running = if s.running_digests.is_empty() {
            "no task running".to_string()
        } else {
            s.running_digests.join(", ")
        };
        out.push(format!("    running: {running}"));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_show_the_image_and_the_running_digest() {
        let digest = format!("sha256:{}", "b".repeat(64));
        let services = [
            ServiceImage {
                logical_id: "MetadataService".into(),
                service: "arn:aws:ecs:us-east-1:1:service/c/m".into(),
                desired: 2,
                running: 2,
                image: Some(format!(
                    "1.dkr.ecr.us-east-1.amazonaws.com/mfstack@{digest}"
                )),
                running_digests: vec![digest.clone()],
                unknown: None,
            },
            ServiceImage {
                logical_id: "UI/UIBackend".into(),
                service: "ui".into(),
                desired: 0,
                running: 0,
                image: None,
                running_digests: Vec::new(),
                unknown: Some("DescribeServices failed".into()),
            },
        ];
        let text = services_text(&services);
        assert!(
            text.contains("MetadataService: 2/2 task(s) running"),
            "{text}"
        );
        assert!(text.contains(&format!("    running: {digest}")), "{text}");
        assert!(
            text.contains("UI/UIBackend: unknown (DescribeServices failed)"),
            "{text}"
        );
    }
}
