//! `mfstack deploy`: build the template, package it, deploy it with a preview and live progress,
//! then write the Metaflow profile.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use mfstack_deployer::deploy::DeployRequest;
use mfstack_deployer::package::{Artifacts, INLINE_TEMPLATE_LIMIT, rewrite_template_url};
use mfstack_deployer::{DeployOutcome, DeployUi, Error, TemplateSource, deploy};

use super::aws::{AwsArgs, explain};
use super::configure::{self, ProfileArgs};
use super::progress::{Drawer, causes};
use crate::hint::{WithHint, hinted};
use mfstack_template::params::ENABLE_UI;
use mfstack_template::{StackParams, UI_TEMPLATE_URL_PARAMETER};

/// Arguments of `mfstack deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudFormation stack name.
    #[arg(long)]
    pub stack_name: String,
    /// Template parameter, as NAME=VALUE. Repeat for several.
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Deploy the Metaflow UI (a nested stack).
    #[arg(long)]
    pub enable_ui: bool,
    /// Execute the change set without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Bucket for packaged templates (default: mfstack-artifacts-ACCOUNT-REGION, created on first use).
    #[arg(long)]
    pub artifacts_bucket: Option<String>,
    /// Deploy this root template file (JSON) instead of the generated one.
    #[arg(long)]
    pub template_file: Option<PathBuf>,
    /// A nested template the root refers to by a local TemplateURL, as LOCAL=FILE; it is uploaded
    /// and the root's TemplateURL rewritten to its S3 URL. Repeat for several.
    #[arg(long = "nested-template", value_parser = parse_param, requires = "template_file")]
    pub nested_templates: Vec<(String, String)>,
    /// Seconds between status polls.
    #[arg(long, default_value_t = 5, hide = true)]
    pub poll_seconds: u64,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))
}

/// Templates ready to package: the root, and nested templates by name.
struct Templates {
    root: String,
    nested: Vec<(String, String)>,
    /// The generated UI template, passed to the root by URL parameter rather than rewritten in.
    ui: Option<String>,
}

/// Deploy and report; exit 0 on success or when there was nothing to change.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = args.aws.load().await?;
    let who = aws.identity().await.map_err(|e| explain(e, &args.aws))?;
    println!(
        "Deploying stack {} to account {} in {}",
        args.stack_name,
        who.account,
        aws.region()
    );

    let templates = match &args.template_file {
        Some(path) => from_files(path, &args.nested_templates)?,
        None => generated(&args)?,
    };

    let mut ui = Drawer::new(args.yes);
    // A bucket is needed only for nested templates or a root over the inline limit.
    let nested = templates.ui.is_some() || !templates.nested.is_empty();
    let artifacts = if nested || templates.root.len() > INLINE_TEMPLATE_LIMIT {
        Some(
            Artifacts::ensure(&aws, args.artifacts_bucket.as_deref(), &mut ui)
                .await
                .map_err(|e| explain(e, &args.aws))?,
        )
    } else {
        None
    };
    let mut root = templates.root;
    if let Some(art) = &artifacts {
        for (name, body) in &templates.nested {
            let up = art
                .put(
                    &format!("nested template {name}"),
                    body.as_bytes(),
                    "template",
                    &mut ui,
                )
                .await
                .map_err(|e| explain(e, &args.aws))?;
            let (rewritten, n) =
                rewrite_template_url(&root, name, &up.url).map_err(|e| explain(e, &args.aws))?;
            if n == 0 {
                return Err(hinted(
                    format!("no nested stack in the root template has TemplateURL {name:?}"),
                    "the name before = in --nested-template must match the root's TemplateURL exactly",
                ));
            }
            root = rewritten;
        }
    }
    let mut params = args.params.clone();
    if let (Some(art), Some(ui_body)) = (&artifacts, &templates.ui) {
        // Uploaded on every deploy (deduplicated), so an update never points at an expired object.
        let up = art
            .put(
                "nested template UI",
                ui_body.as_bytes(),
                "template",
                &mut ui,
            )
            .await
            .map_err(|e| explain(e, &args.aws))?;
        params.push((UI_TEMPLATE_URL_PARAMETER.to_string(), up.url));
        if args.enable_ui {
            params.push((ENABLE_UI.to_string(), "true".to_string()));
        }
    }
    let source = match &artifacts {
        Some(art) => TemplateSource::prepare(root, art, &mut ui)
            .await
            .map_err(|e| explain(e, &args.aws))?,
        None => TemplateSource::Body(root),
    };

    let mut req = DeployRequest::new(&args.stack_name, source);
    req.parameters = params;
    req.poll_interval = Duration::from_secs(args.poll_seconds.max(1));
    let outcome = deploy(&aws, &req, &mut ui as &mut dyn DeployUi).await;
    match outcome {
        Ok(DeployOutcome::Declined) if ui.needed_yes => Err(hinted(
            "not executing the change set without confirmation",
            "pass --yes to deploy without a prompt",
        )),
        Ok(DeployOutcome::Declined) => {
            println!("Change set deleted; nothing was deployed.");
            Ok(ExitCode::SUCCESS)
        }
        Ok(DeployOutcome::Deployed { status, .. }) => {
            println!("Stack {} is {}.", args.stack_name, status.as_str());
            write_profile(&aws, &args).await
        }
        Ok(DeployOutcome::NoChanges) => write_profile(&aws, &args).await,
        Err(Error::StackStuck { .. }) if ui.needed_yes => Err(hinted(
            format!(
                "stack {} is in ROLLBACK_COMPLETE and must be recreated",
                args.stack_name
            ),
            "pass --yes to delete and recreate it without a prompt",
        )),
        Err(e) => {
            if let Error::DeployFailed { causes: c, .. } = &e {
                eprintln!("{}", causes(c));
            }
            Err(explain(e, &args.aws))
        }
    }
}

/// Write the profile after a deploy. The deploy itself succeeded, so a profile that cannot be
/// written yet is a warning with the command to run later, not a failure.
async fn write_profile(aws: &mfstack_deployer::Aws, args: &Args) -> anyhow::Result<ExitCode> {
    if let Err(e) = configure::write(aws, &args.aws, &args.stack_name, &args.profile).await {
        eprintln!("mfstack: warning: the Metaflow profile was not written: {e:#}");
        eprintln!(
            "  hint: run `mfstack configure --stack-name {}` once the stack reports its outputs",
            args.stack_name
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn from_files(root: &std::path::Path, nested: &[(String, String)]) -> anyhow::Result<Templates> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
    };
    Ok(Templates {
        root: read(root)?,
        nested: nested
            .iter()
            .map(|(local, file)| Ok((local.clone(), read(std::path::Path::new(file))?)))
            .collect::<anyhow::Result<_>>()?,
        ui: None,
    })
}

/// The generated templates: `p`'s values become parameter defaults, and the UI template is packaged
/// separately and passed by URL (see `mfstack_template`'s crate docs).
fn generated(args: &Args) -> anyhow::Result<Templates> {
    let mut p = StackParams::default();
    for (k, v) in &args.params {
        p.set(k, v)
            .hint("`mfstack template --help` lists the parameters and their allowed values")?;
    }
    if args.enable_ui {
        p.enable_ui = true;
    }
    let stack = mfstack_template::build(&p).context("building the template")?;
    Ok(Templates {
        root: stack
            .root
            .to_json_compact()
            .context("serialising the root template")?,
        nested: Vec::new(),
        ui: Some(
            stack
                .ui
                .to_json_compact()
                .context("serialising the UI template")?,
        ),
    })
}
