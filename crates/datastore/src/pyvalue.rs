//! Decoded pickle values of Python's built-in types, with dicts in insertion order.

use std::collections::HashMap;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_pickle::{DeOptions, HashableValue, Value};

/// A Python value of a built-in type, as decoded from a pickle.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` of any size, in decimal.
    Int(String),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// `bytes` (and Python 2 `str`).
    Bytes(Vec<u8>),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `tuple`.
    Tuple(Vec<PyValue>),
    /// A `set`.
    Set(Vec<PyValue>),
    /// A `frozenset`.
    FrozenSet(Vec<PyValue>),
    /// A `dict`, in insertion order when it could be recovered.
    Dict(Vec<(PyValue, PyValue)>),
}

/// Decodes a pickle after [`crate::pickle_guard::check`] has bounded what it expands to.
pub(crate) fn decode(pickle: &[u8]) -> Result<PyValue, serde_pickle::Error> {
    let value = serde_pickle::value_from_slice(pickle, DeOptions::new())?;
    // The value tree keeps dicts in sorted maps; a second pass through serde sees them in
    // insertion order, which is what Python prints. Big ints fail that pass: sorted order then.
    let shape = serde_pickle::from_slice::<Shape>(pickle, DeOptions::new()).ok();
    Ok(convert(value, shape.as_ref()))
}

fn convert(value: Value, shape: Option<&Shape>) -> PyValue {
    match value {
        Value::None => PyValue::None,
        Value::Bool(b) => PyValue::Bool(b),
        Value::I64(i) => PyValue::Int(i.to_string()),
        Value::Int(i) => PyValue::Int(i.to_string()),
        Value::F64(f) => PyValue::Float(f),
        Value::Bytes(b) => PyValue::Bytes(b),
        Value::String(s) => PyValue::Str(s),
        Value::List(items) => PyValue::List(convert_items(items, shape)),
        Value::Tuple(items) => PyValue::Tuple(convert_items(items, shape)),
        Value::Set(items) => PyValue::Set(items.into_iter().map(convert_hashable).collect()),
        Value::FrozenSet(items) => {
            PyValue::FrozenSet(items.into_iter().map(convert_hashable).collect())
        }
        Value::Dict(map) => {
            let entries: Vec<(HashableValue, Value)> = map.into_iter().collect();
            let order = match shape {
                Some(Shape::Map(shape_entries)) => insertion_order(&entries, shape_entries),
                _ => None,
            };
            match order {
                Some(order) => {
                    let mut slots: Vec<Option<(HashableValue, Value)>> =
                        entries.into_iter().map(Some).collect();
                    PyValue::Dict(
                        order
                            .into_iter()
                            .map(|(index, value_shape)| {
                                let (k, v) = slots[index].take().expect("each index once");
                                (convert_hashable(k), convert(v, Some(value_shape)))
                            })
                            .collect(),
                    )
                }
                None => PyValue::Dict(
                    entries
                        .into_iter()
                        .map(|(k, v)| (convert_hashable(k), convert(v, None)))
                        .collect(),
                ),
            }
        }
    }
}

fn convert_items(items: Vec<Value>, shape: Option<&Shape>) -> Vec<PyValue> {
    let shapes = match shape {
        Some(Shape::Seq(shapes)) if shapes.len() == items.len() => Some(shapes),
        _ => None,
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| convert(item, shapes.map(|s| &s[i])))
        .collect()
}

fn convert_hashable(value: HashableValue) -> PyValue {
    match value {
        HashableValue::None => PyValue::None,
        HashableValue::Bool(b) => PyValue::Bool(b),
        HashableValue::I64(i) => PyValue::Int(i.to_string()),
        HashableValue::Int(i) => PyValue::Int(i.to_string()),
        HashableValue::F64(f) => PyValue::Float(f),
        HashableValue::Bytes(b) => PyValue::Bytes(b),
        HashableValue::String(s) => PyValue::Str(s),
        HashableValue::Tuple(items) => {
            PyValue::Tuple(items.into_iter().map(convert_hashable).collect())
        }
        HashableValue::FrozenSet(items) => {
            PyValue::FrozenSet(items.into_iter().map(convert_hashable).collect())
        }
    }
}

/// For each dict entry in insertion order: its index in `entries` and the shape of its value.
fn insertion_order<'a>(
    entries: &[(HashableValue, Value)],
    shape_entries: &'a [(Shape, Shape)],
) -> Option<Vec<(usize, &'a Shape)>> {
    if entries.len() != shape_entries.len() {
        return None;
    }
    let mut index: HashMap<Key, usize> = HashMap::with_capacity(entries.len());
    for (i, (key, _)) in entries.iter().enumerate() {
        index.insert(Key::from_hashable(key)?, i);
    }
    shape_entries
        .iter()
        .map(|(key, value)| Some((index.remove(&Key::from_shape(key)?)?, value)))
        .collect()
}

/// A dict key as both passes see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    None,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(String),
    Bytes(Vec<u8>),
    Seq(Vec<Key>),
}

impl Key {
    fn from_hashable(value: &HashableValue) -> Option<Self> {
        Some(match value {
            HashableValue::None => Key::None,
            HashableValue::Bool(b) => Key::Bool(*b),
            HashableValue::I64(i) => Key::Int(*i),
            HashableValue::Int(_) => return None,
            HashableValue::F64(f) => Key::Float(f.to_bits()),
            HashableValue::Bytes(b) => Key::Bytes(b.clone()),
            HashableValue::String(s) => Key::Str(s.clone()),
            HashableValue::Tuple(items) => Key::Seq(
                items
                    .iter()
                    .map(Key::from_hashable)
                    .collect::<Option<_>>()?,
            ),
            HashableValue::FrozenSet(_) => return None,
        })
    }

    fn from_shape(shape: &Shape) -> Option<Self> {
        match shape {
            Shape::Key(key) => Some(key.clone()),
            Shape::Seq(items) => items
                .iter()
                .map(Key::from_shape)
                .collect::<Option<_>>()
                .map(Key::Seq),
            Shape::Map(_) | Shape::Other => None,
        }
    }
}

/// The structure serde's pass sees: sequences and maps in stream order.
enum Shape {
    Key(Key),
    Seq(Vec<Shape>),
    Map(Vec<(Shape, Shape)>),
    Other,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a pickled value")
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Key(Key::None))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Shape, E> {
        Ok(Shape::Key(Key::Bool(b)))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Shape, E> {
        Ok(Shape::Key(Key::Int(i)))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }
    fn visit_f64<E>(self, f: f64) -> Result<Shape, E> {
        Ok(Shape::Key(Key::Float(f.to_bits())))
    }
    fn visit_str<E>(self, s: &str) -> Result<Shape, E> {
        Ok(Shape::Key(Key::Str(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<Shape, E> {
        Ok(Shape::Key(Key::Str(s)))
    }
    fn visit_bytes<E>(self, b: &[u8]) -> Result<Shape, E> {
        Ok(Shape::Key(Key::Bytes(b.to_vec())))
    }
    fn visit_byte_buf<E>(self, b: Vec<u8>) -> Result<Shape, E> {
        Ok(Shape::Key(Key::Bytes(b)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Shape>()? {
            items.push(item);
        }
        Ok(Shape::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<Shape, Shape>()? {
            entries.push(entry);
        }
        Ok(Shape::Map(entries))
    }
}
