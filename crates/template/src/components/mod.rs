//! One module per part of the stack, each adding its resources with `add` and returning the
//! handles later parts need. `crate::build` calls them in the order the console lists them.

pub mod api_gateway;
pub mod compute;
pub mod iam;
pub mod metadata_service;
pub mod migrations;
pub mod network;
pub mod notebook;
pub mod scheduling;
pub mod storage;
pub mod ui;
