//! The service image a deploy gives the stack: mfstack's own, published from a static build of
//! this binary (or `--service-binary`); a prebuilt one (`--service-image URI`); or upstream's
//! (`--service-image reference`).

use mfstack_deployer::image::{self, REGISTRY_ENV, ServiceBinary};
use mfstack_deployer::{Aws, DeployUi};
use mfstack_template::params::{SERVICE_IMAGE, SERVICE_IMAGE_REPOSITORY};
use serde_json::Value;

use super::Args;
use crate::hint::hinted;

/// The `--service-image` value that keeps upstream's Python image.
pub const REFERENCE: &str = "reference";

/// What `--service-image` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageArg {
    /// Upstream's image, with upstream's commands and sizes.
    Reference,
    /// A prebuilt image, `REPO@sha256:HEX` or `REPO:TAG`.
    Uri(String),
    /// Whatever the stack runs now (a redeploy that changes something else, such as
    /// `encrypt-database`'s); not a command-line value.
    Keep,
}

pub fn parse_image_arg(s: &str) -> Result<ImageArg, String> {
    if s == REFERENCE {
        return Ok(ImageArg::Reference);
    }
    let valid = match s.rsplit_once('@') {
        Some((repo, digest)) => {
            let hex = digest.strip_prefix("sha256:").unwrap_or_default();
            !repo.is_empty()
                && hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        None => {
            let last = s.rsplit('/').next().unwrap_or_default();
            matches!(last.split_once(':'), Some((name, tag)) if !name.is_empty() && !tag.is_empty())
        }
    };
    if valid && !s.contains(char::is_whitespace) {
        Ok(ImageArg::Uri(s.to_string()))
    } else {
        Err(format!(
            "expected `{REFERENCE}`, REPOSITORY@sha256:<64 hex> or REPOSITORY:TAG, got {s:?}"
        ))
    }
}

/// How the stack gets its image.
pub enum Choice {
    Publish(ServiceBinary),
    Given(ImageArg),
}

/// Decide before any AWS call, so a machine that cannot build the image says so at once. `None`
/// when the template takes no image (a `--template-file` of the user's own).
pub fn choose(args: &Args, root: &Value) -> anyhow::Result<Option<Choice>> {
    let declared = root
        .get("Parameters")
        .and_then(|p| p.get(SERVICE_IMAGE))
        .is_some();
    if !declared {
        if args.service_image.is_some() || args.service_binary.is_some() {
            return Err(hinted(
                format!("the root template has no {SERVICE_IMAGE} parameter to give the image to"),
                "drop --service-image and --service-binary, or deploy the generated template",
            ));
        }
        return Ok(None);
    }
    if let Some(given) = &args.service_image {
        return Ok(Some(Choice::Given(given.clone())));
    }
    let binary = match &args.service_binary {
        Some(path) => ServiceBinary::read(path),
        None => ServiceBinary::current(),
    };
    Ok(Some(Choice::Publish(binary.map_err(|e| {
        let hint = no_image_hint();
        hinted(e, hint)
    })?)))
}

fn no_image_hint() -> String {
    let ways = "pass --service-image URI for an image built from the Dockerfile and pushed (see the \
                README), or --service-image reference to run upstream's Python image";
    if cfg!(target_os = "linux") {
        format!(
            "{ways}; or build mfstack statically (RUSTFLAGS=\"-C target-feature=+crt-static\" cargo \
             build --release --target x86_64-unknown-linux-gnu) and deploy with that binary, or name \
             it with --service-binary PATH"
        )
    } else {
        ways.to_string()
    }
}

/// The value of the template's image parameter, `None` to keep the stack's: publish the image
/// first when it is mfstack's.
pub async fn parameter(
    aws: &Aws,
    choice: Choice,
    ui: &mut dyn DeployUi,
) -> anyhow::Result<Option<String>> {
    let binary = match choice {
        Choice::Given(ImageArg::Keep) => return Ok(None),
        Choice::Given(ImageArg::Reference) => {
            println!("Service image: upstream's (--service-image {REFERENCE})");
            return Ok(Some(String::new()));
        }
        Choice::Given(ImageArg::Uri(uri)) => {
            println!("Service image: {uri} (--service-image)");
            return Ok(Some(uri));
        }
        Choice::Publish(binary) => binary,
    };
    println!(
        "Building the service image from {}...",
        binary.path.display()
    );
    let image = binary.assemble(env!("CARGO_PKG_VERSION"))?;
    println!(
        "Service image: {:.1} MiB compressed in {} layers, {}",
        image.size() as f64 / (1024.0 * 1024.0),
        image.layers.len(),
        image.digest
    );
    let registry_url = std::env::var(REGISTRY_ENV).ok();
    let tag = image.tag(env!("CARGO_PKG_VERSION"));
    let pushed = image::publish(
        aws,
        SERVICE_IMAGE_REPOSITORY,
        &image,
        &tag,
        registry_url.as_deref(),
        ui,
    )
    .await?;
    Ok(Some(pushed.by_digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_image_values() {
        assert_eq!(parse_image_arg("reference"), Ok(ImageArg::Reference));
        let digest = format!(
            "123.dkr.ecr.us-east-1.amazonaws.com/mfstack@sha256:{}",
            "a".repeat(64)
        );
        assert_eq!(parse_image_arg(&digest), Ok(ImageArg::Uri(digest.clone())));
        for ok in [
            "ghcr.io/me/mfstack:1.0",
            "localhost:5000/mfstack:dev",
            "mfstack:latest",
        ] {
            assert_eq!(parse_image_arg(ok), Ok(ImageArg::Uri(ok.into())), "{ok}");
        }
        for bad in [
            "",
            "mfstack",
            "localhost:5000/mfstack",
            "repo@sha256:abc",
            "@sha256:aaaa",
            "repo:tag with space",
        ] {
            assert!(parse_image_arg(bad).is_err(), "{bad}");
        }
    }
}
