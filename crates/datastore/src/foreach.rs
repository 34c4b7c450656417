//! Where a task sits in its foreach loops, from its `_foreach_stack` artifact (spec `ui-api.md` §6).
//!
//! The artifact is a list of Metaflow's `ForeachFrame` named tuples, outermost loop first:
//! `(step, var, num_splits, index, value)`, or the first four alone from older clients. Each frame
//! is pickled as a `NEWOBJ` call on the class (`__main__.ForeachFrame`, or
//! `metaflow.flowspec.ForeachFrame` from older clients); keeping the calls' arguments instead of
//! resolving the class turns every frame into the tuple of its fields.

use serde_pickle::{DeOptions, Value};

use crate::artifacts::{self, ArtifactError, ArtifactErrorKind, ArtifactRef};
use crate::storage::Storage;

/// Position of `index` in a frame.
const INDEX_FIELD: usize = 3;

pub(crate) async fn innermost_index(storage: &Storage, artifact: &ArtifactRef) -> Option<i64> {
    let limit = storage.config().max_artifact_bytes;
    match artifacts::load(storage, artifact, limit, decode_innermost_index).await {
        Ok(index) => index,
        Err(error) => {
            tracing::debug!(location = %artifact.location, detail = %error.detail, "no foreach index");
            None
        }
    }
}

/// The innermost frame's index; `None` for an empty stack or a value that is not a stack.
fn decode_innermost_index(pickle: &[u8]) -> Result<Option<i64>, ArtifactError> {
    let value = serde_pickle::value_from_slice(pickle, DeOptions::new().keep_restore_state())
        .map_err(|e| {
            ArtifactError::new(ArtifactErrorKind::ArtifactUnpickleFailed, e.to_string())
        })?;
    let (Value::List(frames) | Value::Tuple(frames)) = value else {
        return Ok(None);
    };
    let Some(Value::Tuple(fields)) = frames.last() else {
        return Ok(None);
    };
    Ok(match fields.get(INDEX_FIELD) {
        Some(Value::I64(index)) => Some(*index),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // pickle.dumps([ForeachFrame('outer', 'xs', 2, 1, 'b'), ForeachFrame('inner', 'ys', 3, 2, '7')],
    // protocol=4), as Metaflow's pickle serializer writes it.
    const NESTED: &[u8] = b"\x80\x04\x95W\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x08__main__\x94\x8c\x0cForeachFrame\x94\x93\x94(\x8c\x05outer\x94\x8c\x02xs\x94K\x02K\x01\x8c\x01b\x94t\x94\x81\x94h\x03(\x8c\x05inner\x94\x8c\x02ys\x94K\x03K\x02\x8c\x017\x94t\x94\x81\x94e.";

    // An older client's four-field frame: [ForeachFrame('start', 'items', 3, 4)], protocol 2.
    const FOUR_FIELDS: &[u8] = b"\x80\x02]q\x00cmetaflow.flowspec\nForeachFrame\nq\x01(X\x05\x00\x00\x00startq\x02X\x05\x00\x00\x00itemsq\x03K\x03K\x04tq\x04\x81q\x05a.";

    #[test]
    fn reads_the_innermost_frame() {
        assert_eq!(decode_innermost_index(NESTED), Ok(Some(2)));
        assert_eq!(decode_innermost_index(FOUR_FIELDS), Ok(Some(4)));
    }

    #[test]
    fn an_empty_stack_or_another_value_has_no_index() {
        assert_eq!(decode_innermost_index(b"\x80\x04]\x94."), Ok(None));
        // pickle.dumps({'a': 1}) and pickle.dumps([(1, 2)]): not frames.
        assert_eq!(
            decode_innermost_index(
                b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."
            ),
            Ok(None)
        );
        assert_eq!(
            decode_innermost_index(
                b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00]\x94K\x01K\x02\x86\x94a."
            ),
            Ok(None)
        );
        assert!(decode_innermost_index(b"not a pickle").is_err());
    }
}
