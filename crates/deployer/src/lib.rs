//! Package, deploy and operate the mfstack CloudFormation stack with the official AWS SDK.
//!
//! The CLI hands this crate template strings; it uploads artifacts ([`package`]), runs a change set
//! and follows it to the end ([`deploy`]), reads what the stack produced ([`outputs`]) and carries out
//! the follow-up chores the console guide did by hand ([`operate`], [`profile`]). Nothing here
//! prints: progress goes out as [`DeployEvent`]s to a caller-supplied [`DeployUi`].

pub mod aws;
pub mod deploy;
pub mod error;
pub mod events;
pub mod operate;
pub mod outputs;
pub mod package;
pub mod profile;
mod progress;

pub use aws::{Aws, AwsOptions};
pub use deploy::{DeployOutcome, DeployRequest, TemplateSource, deploy};
pub use error::Error;
pub use events::{Decision, DeployEvent, DeployUi, Phase};
