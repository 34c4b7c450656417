//! Decoded values as JSON, the way Python's `json.dumps` writes them.

use serde_json::{Map, Number, Value};

use crate::pyrepr;
use crate::pyvalue::PyValue;

/// The value as JSON: tuples and sets as arrays, dict keys as strings (`str()` of non-string
/// keys, as `json.dumps` does for numbers), bytes as `str()` text, NaN and infinities as null.
pub(crate) fn to_json(value: &PyValue) -> Value {
    match value {
        PyValue::None => Value::Null,
        PyValue::Bool(b) => Value::Bool(*b),
        PyValue::Int(digits) => digits
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| digits.parse::<u64>().map(Value::from))
            .unwrap_or_else(|_| {
                digits
                    .parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }),
        PyValue::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        PyValue::Str(s) => Value::String(s.clone()),
        PyValue::Bytes(_) => Value::String(pyrepr::python_str(value)),
        PyValue::List(items)
        | PyValue::Tuple(items)
        | PyValue::Set(items)
        | PyValue::FrozenSet(items) => Value::Array(items.iter().map(to_json).collect()),
        PyValue::Dict(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let key = match key {
                    PyValue::Str(s) => s.clone(),
                    PyValue::Bool(true) => "true".into(),
                    PyValue::Bool(false) => "false".into(),
                    PyValue::None => "null".into(),
                    other => pyrepr::python_str(other),
                };
                map.insert(key, to_json(value));
            }
            Value::Object(map)
        }
    }
}
