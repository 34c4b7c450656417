//! Values bound to `$N` placeholders, and statements built at run time with their values.

use serde_json::Value;

/// A value bound to a `$N` placeholder. Public so the benchmark binds exactly what the store binds.
#[derive(Debug, Clone)]
pub enum Arg {
    I64(i64),
    Text(String),
    OptText(Option<String>),
    OptI64(Option<i64>),
    Json(Option<Value>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_owned))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}

impl From<Option<&Value>> for Arg {
    fn from(v: Option<&Value>) -> Self {
        Arg::Json(v.cloned())
    }
}

/// A statement and the values of its placeholders, in order.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Statement {
    /// Bind `arg` to the next placeholder and return that placeholder's number.
    pub fn bind(&mut self, arg: impl Into<Arg>) -> usize {
        self.args.push(arg.into());
        self.args.len()
    }
}

/// `rows` groups of `columns` placeholders, numbered on from `$1`: the VALUES list of a multi-row
/// INSERT.
pub fn values_list(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 6);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 1..=columns {
            if c > 1 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * columns + c).to_string());
        }
        out.push(')');
    }
    out
}

/// One column of a multi-row insert as a PostgreSQL array, for `SELECT * FROM UNNEST(...)`: a
/// statement of constant text whatever the row count, so it stays prepared, and PostgreSQL does
/// not parse and plan thousands of placeholders per group.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayArg {
    Text(Vec<Option<String>>),
    I64(Vec<Option<i64>>),
    Json(Vec<Option<Value>>),
}

impl ArrayArg {
    /// The array's type, as the `UNNEST` argument casts it.
    pub fn sql_type(&self) -> &'static str {
        match self {
            ArrayArg::Text(_) => "text[]",
            ArrayArg::I64(_) => "int8[]",
            ArrayArg::Json(_) => "jsonb[]",
        }
    }
}

/// The values of rows of `columns` args each (`args` row after row), column by column. `None`
/// when a column mixes kinds of values, which a caller's bind function never does.
pub fn columns_of(args: Vec<Arg>, columns: usize) -> Option<Vec<ArrayArg>> {
    let rows = args.len() / columns.max(1);
    let mut out: Vec<ArrayArg> = args[..columns.min(args.len())]
        .iter()
        .map(|a| match a {
            Arg::Text(_) | Arg::OptText(_) => ArrayArg::Text(Vec::with_capacity(rows)),
            Arg::I64(_) | Arg::OptI64(_) => ArrayArg::I64(Vec::with_capacity(rows)),
            Arg::Json(_) => ArrayArg::Json(Vec::with_capacity(rows)),
        })
        .collect();
    for (i, arg) in args.into_iter().enumerate() {
        match (&mut out[i % columns], arg) {
            (ArrayArg::Text(v), Arg::Text(t)) => v.push(Some(t)),
            (ArrayArg::Text(v), Arg::OptText(t)) => v.push(t),
            (ArrayArg::I64(v), Arg::I64(n)) => v.push(Some(n)),
            (ArrayArg::I64(v), Arg::OptI64(n)) => v.push(n),
            (ArrayArg::Json(v), Arg::Json(j)) => v.push(j),
            _ => return None,
        }
    }
    Some(out)
}

/// `SELECT * FROM UNNEST($1::text[], $2::int8[], …)` over `columns`.
pub fn unnest_source(columns: &[ArrayArg]) -> String {
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", i + 1, c.sql_type()))
        .collect();
    format!("SELECT * FROM UNNEST({})", arrays.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_on_across_rows() {
        assert_eq!(values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
        let mut s = Statement::default();
        assert_eq!((s.bind(1), s.bind("x")), (1, 2));
    }

    #[test]
    fn rows_become_columns() {
        let args = vec![
            Arg::from("a"),
            Arg::from(1),
            Arg::Json(None),
            Arg::from(None::<String>),
            Arg::OptI64(None),
            Arg::Json(Some(serde_json::json!(["t"]))),
        ];
        let columns = columns_of(args, 3).unwrap();
        assert_eq!(
            columns,
            vec![
                ArrayArg::Text(vec![Some("a".into()), None]),
                ArrayArg::I64(vec![Some(1), None]),
                ArrayArg::Json(vec![None, Some(serde_json::json!(["t"]))]),
            ]
        );
        assert_eq!(
            unnest_source(&columns),
            "SELECT * FROM UNNEST($1::text[], $2::int8[], $3::jsonb[])"
        );
        assert_eq!(columns_of(vec![Arg::from("a"), Arg::from(1)], 1), None);
    }
}
