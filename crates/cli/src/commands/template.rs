//! `mfstack template`: write the root CloudFormation template and the UI's nested template.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use mfstack_template::{
    INLINE_TEMPLATE_LIMIT, ParamError, StackParams, Template, TemplateError,
    UI_TEMPLATE_URL_PARAMETER, build,
};

use crate::hint::{WithHint, hinted};

/// The root template's file name, without extension.
pub const ROOT_FILE: &str = "metaflow-cfn-template";
/// The UI template's file name, without extension.
pub const UI_FILE: &str = "metaflow-ui-cfn-template";

/// How the templates are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Pretty-printed JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Arguments of `mfstack template`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Directory the templates are written to (created if missing).
    #[arg(
        short = 'o',
        long = "output-dir",
        value_name = "DIR",
        default_value = "."
    )]
    pub output_dir: PathBuf,
    /// Set a template parameter's default, e.g. `--param EnableUI=true`; repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

/// Build the templates and write them.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut params = StackParams::default();
    if let Err(e) = params.apply_overrides(&args.params) {
        let hint = match e {
            ParamError::Unknown { .. } => "parameter names are case-sensitive, as in the template",
            ParamError::NotAPair(_) => "write each parameter as --param NAME=VALUE",
            _ => "give a value CloudFormation accepts for that parameter",
        };
        return Err(e).hint(hint);
    }
    let stack = match build(&params) {
        Ok(stack) => stack,
        Err(TemplateError::UiInGovCloud) => {
            return Err(hinted(
                "the Metaflow UI cannot be deployed in AWS GovCloud (US): it needs CloudFront, which GovCloud does not offer",
                "drop --param EnableUI=true, or build for a commercial region (IAMPartition=aws)",
            ));
        }
        Err(e) => return Err(e).context("building the templates"),
    };

    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("creating {}", args.output_dir.display()))?;
    let (root_path, root_size) = write(&args.output_dir, ROOT_FILE, &stack.root, args.format)?;
    let (ui_path, ui_size) = write(&args.output_dir, UI_FILE, &stack.ui, args.format)?;

    let compact = stack.root.to_json_compact()?.len();
    let count = stack.root.resources().len();
    println!(
        "wrote {} ({root_size} bytes, {count} resources)",
        root_path.display()
    );
    let limit = INLINE_TEMPLATE_LIMIT;
    if root_size <= limit {
        println!("  fits the {limit}-byte inline template limit");
    } else if compact <= limit {
        println!(
            "  over the {limit}-byte inline template limit as written; as compact JSON ({compact} bytes) it fits"
        );
    } else {
        println!(
            "  over the {limit}-byte inline template limit even as compact JSON ({compact} bytes): pass it by S3 URL, as `mfstack deploy` does"
        );
    }
    let count = stack.ui.resources().len();
    println!(
        "wrote {} ({ui_size} bytes, {count} resources)",
        ui_path.display()
    );
    if params.enable_ui {
        println!(
            "  upload it to S3 and pass its https:// URL as the {UI_TEMPLATE_URL_PARAMETER} parameter (`mfstack deploy` does both)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn write(dir: &Path, stem: &str, t: &Template, format: Format) -> anyhow::Result<(PathBuf, usize)> {
    let (text, ext) = match format {
        Format::Json => (t.to_json()?, "json"),
        Format::Yaml => (t.to_yaml()?, "yaml"),
    };
    let path = dir.join(format!("{stem}.{ext}"));
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    Ok((path, text.len()))
}
