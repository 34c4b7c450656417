//! The data an update would destroy: replacements and removals of resources that hold data, from
//! the prediction before the change set exists and from the change set itself.

use super::{Action, Prediction, Replacement};
use crate::events::PreviewRow;
use crate::schemas::data_held_by;

/// A data-bearing resource the update would replace or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataLoss {
    pub logical_id: String,
    pub resource_type: String,
    /// Why it would be replaced or deleted.
    pub why: String,
    /// What would be lost.
    pub lost: String,
}

/// What a deploy needs to refuse to destroy data.
#[derive(Debug, Clone, Default)]
pub struct DataGuard {
    /// The prediction for an update, made before the change set.
    pub predicted: Option<Prediction>,
    /// Go ahead even when data would be replaced or deleted.
    pub allow_data_replacement: bool,
}

impl DataGuard {
    /// Losses the prediction foresees, unless allowed.
    pub fn before_change_set(&self) -> Vec<DataLoss> {
        match &self.predicted {
            Some(p) if !self.allow_data_replacement => predicted_losses(p),
            _ => Vec::new(),
        }
    }

    /// Losses the change set shows, unless allowed; the prediction, when it has one, says why.
    pub fn in_change_set(&self, rows: &[PreviewRow]) -> Vec<DataLoss> {
        if self.allow_data_replacement {
            return Vec::new();
        }
        rows.iter()
            .filter_map(|row| {
                let lost = data_held_by(&row.resource_type)?;
                let why = match (row.action.as_str(), row.replacement.as_str()) {
                    ("Remove", _) => "the change set deletes it".to_string(),
                    ("Modify", "True") => "the change set replaces it (Replacement: True)".into(),
                    ("Modify", "Conditional") => {
                        "the change set may replace it (Replacement: Conditional)".into()
                    }
                    _ => return None,
                };
                let because = self.predicted.as_ref().and_then(|p| {
                    let c = p.changes.iter().find(|c| c.logical_id == row.logical_id)?;
                    (!c.because.is_empty()).then(|| because_text(&c.because))
                });
                Some(DataLoss {
                    logical_id: row.logical_id.clone(),
                    resource_type: row.resource_type.clone(),
                    why: match because {
                        Some(b) => format!("{why}: {b}"),
                        None => why,
                    },
                    lost: lost.to_string(),
                })
            })
            .collect()
    }
}

/// Replacements (certain or possible) and removals of data-bearing resources.
pub fn predicted_losses(p: &Prediction) -> Vec<DataLoss> {
    p.changes
        .iter()
        .filter_map(|c| {
            let lost = data_held_by(&c.resource_type)?;
            let why = match (c.action, c.replacement) {
                (Action::Remove, _) => {
                    "it is no longer in the template (or its condition is now false)".to_string()
                }
                (Action::Modify, Replacement::Always) => {
                    format!("it would be replaced: {}", because_text(&c.because))
                }
                (Action::Modify, Replacement::Conditional) => {
                    format!("it may be replaced: {}", because_text(&c.because))
                }
                _ => return None,
            };
            Some(DataLoss {
                logical_id: c.logical_id.clone(),
                resource_type: c.resource_type.clone(),
                why,
                lost: lost.to_string(),
            })
        })
        .collect()
}

fn because_text(props: &[String]) -> String {
    let list = props.join(", ");
    if props.len() == 1 {
        format!("{list} changes, and it can only be set when the resource is created")
    } else {
        format!("{list} change, and they can only be set when the resource is created")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replacement::PredictedChange;

    fn row(action: &str, id: &str, kind: &str, replacement: &str) -> PreviewRow {
        PreviewRow {
            action: action.into(),
            logical_id: id.into(),
            resource_type: kind.into(),
            replacement: replacement.into(),
        }
    }

    #[test]
    fn change_set_replacements_and_removals_of_data_are_refused_unless_allowed() {
        let rows = [
            row("Modify", "Db", "AWS::RDS::DBInstance", "True"),
            row("Remove", "Table", "AWS::DynamoDB::Table", ""),
            row("Modify", "Bucket", "AWS::S3::Bucket", "False"),
            row("Modify", "Task", "AWS::ECS::TaskDefinition", "True"),
        ];
        let guard = DataGuard {
            predicted: Some(Prediction {
                changes: vec![PredictedChange {
                    logical_id: "Db".into(),
                    resource_type: "AWS::RDS::DBInstance".into(),
                    action: Action::Modify,
                    replacement: Replacement::Always,
                    because: vec!["StorageEncrypted".into()],
                    custom_name: None,
                }],
                clashes: vec![],
            }),
            allow_data_replacement: false,
        };
        let losses = guard.in_change_set(&rows);
        let ids: Vec<&str> = losses.iter().map(|l| l.logical_id.as_str()).collect();
        assert_eq!(ids, ["Db", "Table"]);
        assert!(
            losses[0].why.contains("StorageEncrypted changes"),
            "{:?}",
            losses[0]
        );
        assert!(losses[0].lost.contains("final snapshot"));
        assert_eq!(guard.before_change_set().len(), 1);
        let allowed = DataGuard {
            allow_data_replacement: true,
            ..guard
        };
        assert!(allowed.in_change_set(&rows).is_empty());
        assert!(allowed.before_change_set().is_empty());
    }
}
