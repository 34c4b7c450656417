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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_on_across_rows() {
        assert_eq!(values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
        let mut s = Statement::default();
        assert_eq!((s.bind(1), s.bind("x")), (1, 2));
    }
}
