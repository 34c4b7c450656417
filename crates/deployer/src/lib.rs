//! Package, deploy and operate the mfstack CloudFormation stack with the official AWS SDK.
//!
//! The CLI hands this crate template strings; it uploads artifacts ([`package`]), runs a change set
//! and follows it to the end ([`deploy`]), publishes the service image ([`image`]), reads what the stack produced ([`outputs`]) and carries out
//! the chores the console guide did by hand, one module each: [`api_key`], [`trust`],
//! [`migration`], [`status`] and [`destroy`]. Nothing here prints: progress goes out as
//! [`DeployEvent`]s to a caller-supplied [`DeployUi`]. Nor does it know the template: output names
//! and what they mean to Metaflow come from the caller.
//!
//! An update of an existing stack is first predicted ([`replacement`], from the resource schemas in
//! [`schemas`]), and a deploy that would replace or delete a resource holding data stops unless the
//! caller allows it.

pub mod api_key;
pub mod aws;
mod change_set;
pub mod database;
pub mod deploy;
pub mod destroy;
pub mod error;
pub mod events;
pub mod image;
pub mod migration;
pub mod outputs;
pub mod package;
pub mod replacement;
pub mod schemas;
pub mod services;
pub mod stack;
pub mod status;
mod tracker;
pub mod trust;

pub use aws::{Aws, AwsOptions};
pub use deploy::{DeployOutcome, DeployRequest, TemplateSource, deploy};
pub use error::Error;
pub use events::{Decision, DeployEvent, DeployUi, Phase};
