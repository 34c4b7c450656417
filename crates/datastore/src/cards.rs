//! Cards: the list of a task's cards, a card's HTML and its runtime data (spec `ui-api.md` §7).

use serde::Serialize;

use crate::storage::Storage;
use crate::{DatastoreError, DatastoreRoot, TaskPath};

/// One card of a task: `{id, hash, type}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardInfo {
    /// The card's id (`@card(id=…)`), if it has one.
    pub id: Option<String>,
    /// The card's hash, which names it in routes.
    pub hash: String,
    /// The card type (`default`, `blank`, …).
    #[serde(rename = "type")]
    pub card_type: String,
}

/// A card's runtime data: `{"data": …, "id": …, "type": …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardData {
    /// The runtime data JSON as the card wrote it.
    pub data: serde_json::Value,
    /// The card's id, if it has one.
    pub id: Option<String>,
    /// The card type.
    #[serde(rename = "type")]
    pub card_type: String,
}

pub(crate) async fn list(
    _storage: &Storage,
    _root: &DatastoreRoot,
    _task: &TaskPath,
) -> Result<Vec<CardInfo>, DatastoreError> {
    Ok(Vec::new())
}

pub(crate) async fn html(
    _storage: &Storage,
    _root: &DatastoreRoot,
    _task: &TaskPath,
    _hash: &str,
) -> Result<Option<String>, DatastoreError> {
    Ok(None)
}

pub(crate) async fn data(
    _storage: &Storage,
    _root: &DatastoreRoot,
    _task: &TaskPath,
    _hash: &str,
) -> Result<Option<CardData>, DatastoreError> {
    Ok(None)
}
