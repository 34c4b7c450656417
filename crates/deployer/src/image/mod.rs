//! The service image, published without Docker: the static mfstack binary in two deterministic
//! layers ([`layout`]), pushed over the registry API ([`push`]) to an ECR repository the deployer
//! owns ([`repository`]). The template receives it by digest.

pub mod elf;
pub mod layout;
pub mod push;
pub mod repository;

use std::path::{Path, PathBuf};

use crate::aws::Aws;
use crate::error::Error;
use crate::events::DeployUi;
pub use elf::Arch;
pub use layout::Image;
pub use push::{Endpoint, Pushed, REGISTRY_ENV};
pub use repository::Repository;

/// A Linux executable that runs from an empty root file system.
#[derive(Debug, Clone)]
pub struct ServiceBinary {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub arch: Arch,
}

impl ServiceBinary {
    /// The running executable; see [`ServiceBinary::read`].
    pub fn current() -> Result<Self, Error> {
        if !cfg!(target_os = "linux") {
            return Err(Error::NoServiceImage(format!(
                "this mfstack is built for {}, and the stack's tasks need a Linux build",
                std::env::consts::OS
            )));
        }
        let path = std::env::current_exe().map_err(|source| Error::Io {
            path: PathBuf::from("the running executable"),
            source,
        })?;
        Self::read(&path)
    }

    /// `path`, if it is a static x86_64 Linux executable (the stack's tasks run on x86_64).
    pub fn read(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let shown = path.display();
        let elf = elf::inspect(&bytes)
            .map_err(|why| Error::NoServiceImage(format!("{shown} is {why}")))?;
        if let Some(loader) = elf.interpreter {
            return Err(Error::NoServiceImage(format!(
                "{shown} is dynamically linked (it needs {loader}), so it cannot run from the \
                 image's empty root file system"
            )));
        }
        if elf.arch != Arch::Amd64 {
            return Err(Error::NoServiceImage(format!(
                "{shown} is built for {}, and the stack's tasks run on x86_64",
                elf.arch.as_oci()
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
            arch: elf.arch,
        })
    }

    /// The image around this binary, labelled with `version`.
    pub fn assemble(&self, version: &str) -> Result<Image, Error> {
        layout::assemble(&self.bytes, self.arch, version).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// Make sure `repository` exists, then push `image` there (through `registry_url` when set).
pub async fn publish(
    aws: &Aws,
    repository: &str,
    image: &Image,
    tag: &str,
    registry_url: Option<&str>,
    ui: &mut dyn DeployUi,
) -> Result<Pushed, Error> {
    let repository = repository::ensure(aws, repository, ui).await?;
    let endpoint = Endpoint::resolve(&repository, registry_url)?;
    let credentials = repository::credentials(aws).await?;
    push::push(&repository, &endpoint, credentials, image, tag, ui).await
}
