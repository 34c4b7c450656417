//! Cards: the list of a task's cards, a card's HTML and its runtime data (spec `ui-api.md` §7).

use serde::Serialize;

use crate::Location;
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

/// The task's card directory and its cards: the layout with `steps/<step>` first, else the older
/// one without (cards written before mid-2022).
async fn listing(
    storage: &Storage,
    root: &DatastoreRoot,
    task: &TaskPath,
) -> Result<(Location, Vec<(CardInfo, String)>), DatastoreError> {
    let card_root = storage.config().card_root(root);
    let (flow, run, step, id) = (task.flow.as_str(), &task.run, &task.step, &task.task);
    let with_steps = card_root.at(&[flow, "runs", run, "steps", step, "tasks", id]);
    let without_steps = card_root.at(&[flow, "runs", run, "tasks", id]);
    for dir in [with_steps, without_steps] {
        let names = storage.list_names(&dir.join("cards")).await?;
        let cards: Vec<(CardInfo, String)> = names
            .into_iter()
            .filter_map(|name| parse_name(&name, ".html").map(|info| (info, name)))
            .collect();
        if !cards.is_empty() {
            return Ok((dir, cards));
        }
    }
    Ok((card_root.at(&[flow]), Vec::new()))
}

/// `<type>-<hash><suffix>` or `<type>-<id>-<hash><suffix>`, as Metaflow names card files.
fn parse_name(name: &str, suffix: &str) -> Option<CardInfo> {
    let stem = name.strip_suffix(suffix)?;
    let parts: Vec<&str> = stem.split('-').collect();
    let (card_type, id, hash) = match parts.as_slice() {
        [card_type, hash] => (*card_type, None, *hash),
        [card_type, id, hash] => (*card_type, Some(id.to_string()), *hash),
        _ => return None,
    };
    Some(CardInfo {
        id,
        hash: hash.to_string(),
        card_type: card_type.to_string(),
    })
}

pub(crate) async fn list(
    storage: &Storage,
    root: &DatastoreRoot,
    task: &TaskPath,
) -> Result<Vec<CardInfo>, DatastoreError> {
    let (_, cards) = listing(storage, root, task).await?;
    Ok(cards.into_iter().map(|(info, _)| info).collect())
}

pub(crate) async fn html(
    storage: &Storage,
    root: &DatastoreRoot,
    task: &TaskPath,
    hash: &str,
) -> Result<Option<String>, DatastoreError> {
    let (dir, cards) = listing(storage, root, task).await?;
    let Some((_, name)) = cards.into_iter().find(|(info, _)| info.hash == hash) else {
        return Ok(None);
    };
    let limit = storage.config().max_blob_bytes;
    match storage
        .get_bounded(&dir.join("cards").join(&name), limit)
        .await
    {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(DatastoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) async fn data(
    storage: &Storage,
    root: &DatastoreRoot,
    task: &TaskPath,
    hash: &str,
) -> Result<Option<CardData>, DatastoreError> {
    let (dir, cards) = listing(storage, root, task).await?;
    let Some((info, _)) = cards.into_iter().find(|(info, _)| info.hash == hash) else {
        return Ok(None);
    };
    let name = match &info.id {
        Some(id) => format!("{}-{id}-{hash}.data.json", info.card_type),
        None => format!("{}-{hash}.data.json", info.card_type),
    };
    let location = dir.join("runtime").join(&name);
    let bytes = match storage
        .get_bounded(&location, storage.config().max_blob_bytes)
        .await
    {
        Ok(bytes) => bytes,
        Err(DatastoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let data = serde_json::from_slice(&bytes).map_err(|e| DatastoreError::Decode {
        location: location.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Some(CardData {
        data,
        id: info.id,
        card_type: info.card_type,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_card_file_names() {
        let info = parse_name("default-3f2a.html", ".html").unwrap();
        assert_eq!(
            (info.card_type.as_str(), info.id, info.hash.as_str()),
            ("default", None, "3f2a")
        );
        let info = parse_name("blank-my_id-9c1.html", ".html").unwrap();
        assert_eq!(info.id.as_deref(), Some("my_id"));
        assert_eq!(parse_name("a-b-c-d.html", ".html"), None);
        assert_eq!(parse_name("default-3f2a.data.json", ".html"), None);
    }
}
