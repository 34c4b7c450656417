//! `mfstack deploy`: build the template, package it, deploy it with a preview and live progress,
//! then write the Metaflow profile.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use mfstack_deployer::deploy::DeployRequest;
use mfstack_deployer::package::{Artifacts, INLINE_TEMPLATE_LIMIT, rewrite_template_url};
use mfstack_deployer::replacement::guard::DataGuard;
use mfstack_deployer::stack::current;
use mfstack_deployer::{Aws, DeployOutcome, DeployUi, Error, TemplateSource, deploy};

use mfstack_template::adoption;
use mfstack_template::params::{ENABLE_UI, POSTGRES_ENGINE_VERSION, SERVICE_IMAGE};
use mfstack_template::{StackParams, UI_TEMPLATE_URL_PARAMETER};

use super::configure::{self, ProfileArgs};
use crate::drawer::{Drawer, causes};
use crate::hint::{WithHint, hinted};
use crate::stack::StackArgs;

mod adopt;
mod image;

pub use image::ImageArg;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Template parameter, as NAME=VALUE. Repeat for several.
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Deploy the Metaflow UI (a nested stack).
    #[arg(long)]
    pub enable_ui: bool,
    /// Execute the change set without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Go ahead even if the update replaces or deletes the database, the bucket or the table.
    /// Without it such an update stops before anything changes, --yes or not.
    #[arg(long)]
    pub allow_data_replacement: bool,
    /// Upgrade the database to this PostgreSQL major version, if RDS allows it in one step from the
    /// running version; a snapshot is taken first. Without it an existing stack keeps its version.
    #[arg(long, value_name = "N")]
    pub postgres_major: Option<u32>,
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
    /// The image the metadata service and UI backend run: a prebuilt REPOSITORY@sha256:HEX or
    /// REPOSITORY:TAG, or `reference` for upstream's Python image. Without it the deploy publishes
    /// mfstack's own image, built from this (static) binary, to the ECR repository `mfstack`.
    #[arg(long, value_name = "URI|reference", value_parser = image::parse_image_arg)]
    pub service_image: Option<image::ImageArg>,
    /// The static Linux build of mfstack to publish as the service image, instead of this binary.
    #[arg(
        long,
        env = "MFSTACK_SERVICE_BINARY",
        value_name = "PATH",
        conflicts_with = "service_image"
    )]
    pub service_binary: Option<PathBuf>,
    /// Seconds between status polls.
    #[arg(long, default_value_t = 5, hide = true)]
    pub poll_seconds: u64,
    #[command(flatten)]
    pub profile: ProfileArgs,
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
    let templates = match &args.template_file {
        Some(path) => from_files(path, &args.nested_templates)?,
        None => generated(&args)?,
    };
    let new: serde_json::Value =
        adoption::parse(&templates.root).context("reading the new template")?;
    let image_choice = image::choose(&args, &new)?;
    let aws = args.stack.connect().await?;
    let who = aws.identity().await.map_err(|e| args.stack.explain(e))?;
    println!(
        "Deploying stack {} to account {} in {}",
        args.stack.stack_name,
        who.account,
        aws.region()
    );
    let mut ui = Drawer::new(args.yes);
    let service_image = match image_choice {
        Some(choice) => image::parameter(&aws, choice, &mut ui)
            .await
            .map_err(|e| explain_any(&args, e))?,
        None => None,
    };
    let existing = current(&aws, &args.stack.stack_name)
        .await
        .map_err(|e| args.stack.explain(e))?;
    let (root, ui_body) = (templates.root.clone(), templates.ui.clone());
    let (source, mut parameters) = package(&aws, &args, templates, &mut ui).await?;
    if let Some(value) = service_image {
        parameters.push((SERVICE_IMAGE.to_string(), value));
    }
    let mut guard = DataGuard {
        predicted: None,
        allow_data_replacement: args.allow_data_replacement,
    };
    let mut snapshot_first = None;
    if let Some(existing) = &existing {
        let old = adoption::parse(&existing.template).context("reading the stack's template")?;
        let mut kept = adopt::update_parameters(&old, existing, &parameters);
        if let Some(major) = args.postgres_major
            && let Some((version, db, snapshot)) =
                adopt::plan_upgrade(&aws, &args.stack.stack_name, major).await?
        {
            kept.retain(|(k, _)| k != POSTGRES_ENGINE_VERSION);
            kept.push((POSTGRES_ENGINE_VERSION.to_string(), version));
            snapshot_first = Some((db, snapshot));
        }
        // A template of the user's own (--template-file) may not declare mfstack's parameters.
        let declared = |k: &str| new.get("Parameters").and_then(|p| p.get(k)).is_some();
        parameters.extend(kept.into_iter().filter(|(k, _)| declared(k)));
        let prediction =
            adopt::predict_update(&old, existing, &root, ui_body.as_deref(), &parameters)?;
        println!("{}", adopt::prediction_text(&prediction));
        guard.predicted = Some(prediction);
    } else if let Some(n) = args.postgres_major {
        parameters.push((POSTGRES_ENGINE_VERSION.to_string(), n.to_string()));
    }
    let mut req = DeployRequest::new(&args.stack.stack_name, source);
    req.parameters = parameters;
    req.guard = guard;
    req.snapshot_first = snapshot_first;
    req.poll_interval = Duration::from_secs(args.poll_seconds.max(1));
    let outcome = deploy(&aws, &req, &mut ui as &mut dyn DeployUi).await;
    report(&aws, &args, outcome, ui.needed_yes).await
}

/// A deployer error inside `anyhow` gets the same hints as one returned directly.
fn explain_any(args: &Args, e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<Error>() {
        Ok(e) => args.stack.explain(e),
        Err(e) => e,
    }
}

/// Upload what has to go by URL (nested templates, the UI template, and the root itself when it is
/// over the inline limit); returns the root and the parameters to set.
async fn package(
    aws: &Aws,
    args: &Args,
    templates: Templates,
    ui: &mut Drawer,
) -> anyhow::Result<(TemplateSource, Vec<(String, String)>)> {
    let explain = |e| args.stack.explain(e);
    let nested = templates.ui.is_some() || !templates.nested.is_empty();
    let mut root = templates.root;
    let mut params = args.params.clone();
    let artifacts = if nested || root.len() > INLINE_TEMPLATE_LIMIT {
        Artifacts::ensure(aws, args.artifacts_bucket.as_deref(), ui)
            .await
            .map_err(explain)?
    } else {
        return Ok((TemplateSource::Body(root), params));
    };
    for (name, body) in &templates.nested {
        let what = format!("nested template {name}");
        let up = artifacts
            .put(&what, body.as_bytes(), "template", ui)
            .await
            .map_err(explain)?;
        let (rewritten, n) = rewrite_template_url(&root, name, &up.url).map_err(explain)?;
        if n == 0 {
            return Err(hinted(
                format!("no nested stack in the root template has TemplateURL {name:?}"),
                "the name before = in --nested-template must match the root's TemplateURL exactly",
            ));
        }
        root = rewritten;
    }
    if let Some(ui_body) = &templates.ui {
        // Uploaded on every deploy (deduplicated), so an update never points at an expired object.
        let up = artifacts
            .put("nested template UI", ui_body.as_bytes(), "template", ui)
            .await
            .map_err(explain)?;
        params.push((UI_TEMPLATE_URL_PARAMETER.to_string(), up.url));
        if args.enable_ui {
            params.push((ENABLE_UI.to_string(), "true".to_string()));
        }
    }
    let source = TemplateSource::prepare(root, &artifacts, ui)
        .await
        .map_err(explain)?;
    Ok((source, params))
}

/// Say how the deploy ended, and write the profile when the stack is there to use.
async fn report(
    aws: &Aws,
    args: &Args,
    outcome: Result<DeployOutcome, Error>,
    needed_yes: bool,
) -> anyhow::Result<ExitCode> {
    let name = &args.stack.stack_name;
    match outcome {
        Ok(DeployOutcome::Declined) if needed_yes => Err(hinted(
            "not executing the change set without confirmation",
            "pass --yes to deploy without a prompt",
        )),
        Ok(DeployOutcome::Declined) => {
            println!("Change set deleted; nothing was deployed.");
            Ok(ExitCode::SUCCESS)
        }
        Ok(DeployOutcome::Deployed { status, .. }) => {
            println!("Stack {name} is {}.", status.as_str());
            write_profile(aws, args).await
        }
        Ok(DeployOutcome::NoChanges) => write_profile(aws, args).await,
        Err(Error::StackStuck { .. }) if needed_yes => Err(hinted(
            format!("stack {name} is in ROLLBACK_COMPLETE and must be recreated"),
            "pass --yes to delete and recreate it without a prompt",
        )),
        Err(e) => {
            if let Error::DeployFailed { causes: c, .. } = &e {
                eprintln!("{}", causes(c));
            }
            Err(args.stack.explain(e))
        }
    }
}

/// Write the profile after a deploy. The deploy itself succeeded, so a profile that cannot be
/// written yet is a warning with the command to run later, not a failure.
async fn write_profile(aws: &Aws, args: &Args) -> anyhow::Result<ExitCode> {
    if let Err(e) = configure::write(aws, &args.stack, &args.profile).await {
        eprintln!("mfstack: warning: the Metaflow profile was not written: {e:#}");
        eprintln!(
            "  hint: run `mfstack configure --stack-name {}` once the stack reports its outputs",
            args.stack.stack_name
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
