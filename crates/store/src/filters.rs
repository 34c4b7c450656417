//! The listing filter grammar (spec 2.9) as data, and its SQL: the service parses a query string
//! into [`Filter`]s and [`TagFilter`]s; the store renders them with bound values. Which columns a
//! listing can filter on belongs to its resource (`RunField` in `runs.rs`, `TaskField` in `tasks.rs`).

use crate::binds::Statement;
use crate::dialect::Dialect;

/// A filter operator (spec 2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Case-insensitive contains.
    Co,
    /// Case-insensitive starts-with.
    Sw,
    /// Case-insensitive ends-with.
    Ew,
    /// Case-insensitive LIKE with the caller's `%`.
    Li,
    /// SQL `IS` (null-safe equality).
    Is,
}

impl FilterOp {
    /// The operator named in a query key, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => FilterOp::Eq,
            "ne" => FilterOp::Ne,
            "lt" => FilterOp::Lt,
            "le" => FilterOp::Le,
            "gt" => FilterOp::Gt,
            "ge" => FilterOp::Ge,
            "co" => FilterOp::Co,
            "sw" => FilterOp::Sw,
            "ew" => FilterOp::Ew,
            "li" => FilterOp::Li,
            "is" => FilterOp::Is,
            _ => return None,
        })
    }
}

/// One filter value; `null` always means `IS NULL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Null,
    /// A value for a numeric column.
    Int(i64),
    /// A value for a text column.
    Text(String),
}

/// `field:op=v1,v2`: the values are OR-ed; separate filters are AND-ed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter<F> {
    pub field: F,
    pub op: FilterOp,
    pub values: Vec<FilterValue>,
}

/// The runs listing's `_tags` filter (spec 2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    /// At least one of these tags among tags ∪ system tags.
    Any(Vec<String>),
    /// All of these tags.
    All(Vec<String>),
    /// At least one substring found in the tags' text.
    LikeAny(Vec<String>),
    /// Every substring found in the tags' text.
    LikeAll(Vec<String>),
}

/// One parenthesised clause per filter, its values bound into `s`; `column` names a field's SQL.
pub(crate) fn filter_clauses<F: Copy>(
    dialect: Dialect,
    filters: &[Filter<F>],
    column: impl Fn(F) -> String,
    s: &mut Statement,
) -> Vec<String> {
    let mut clauses = Vec::new();
    for f in filters {
        let col = column(f.field);
        let alternatives: Vec<String> = f
            .values
            .iter()
            .map(|value| value_clause(dialect, &col, f.op, value, s))
            .collect();
        if !alternatives.is_empty() {
            clauses.push(format!("({})", alternatives.join(" OR ")));
        }
    }
    clauses
}

fn value_clause(
    dialect: Dialect,
    col: &str,
    op: FilterOp,
    value: &FilterValue,
    s: &mut Statement,
) -> String {
    let text = match value {
        FilterValue::Null => return format!("{col} IS NULL"),
        FilterValue::Int(n) => n.to_string(),
        FilterValue::Text(t) => t.clone(),
    };
    let bound = |s: &mut Statement| match value {
        FilterValue::Int(n) => s.bind(*n),
        _ => s.bind(text.clone()),
    };
    let like = |s: &mut Statement, pattern: String| {
        format!(
            "LOWER(CAST({col} AS TEXT)) LIKE LOWER(${})",
            s.bind(pattern)
        )
    };
    match op {
        FilterOp::Eq => format!("{col} = ${}", bound(s)),
        FilterOp::Ne => format!("{col} <> ${}", bound(s)),
        FilterOp::Lt => format!("{col} < ${}", bound(s)),
        FilterOp::Le => format!("{col} <= ${}", bound(s)),
        FilterOp::Gt => format!("{col} > ${}", bound(s)),
        FilterOp::Ge => format!("{col} >= ${}", bound(s)),
        FilterOp::Is => format!("{col} {} ${}", dialect.null_safe_eq(), bound(s)),
        FilterOp::Co => like(s, format!("%{text}%")),
        FilterOp::Sw => like(s, format!("{text}%")),
        FilterOp::Ew => like(s, format!("%{text}")),
        FilterOp::Li => like(s, text),
    }
}

/// The clause for one `_tags` filter over run `r`.
pub(crate) fn tag_clause(dialect: Dialect, filter: &TagFilter, s: &mut Statement) -> String {
    let (values, like, join) = match filter {
        TagFilter::Any(v) => (v, false, " OR "),
        TagFilter::All(v) => (v, false, " AND "),
        TagFilter::LikeAny(v) => (v, true, " OR "),
        TagFilter::LikeAll(v) => (v, true, " AND "),
    };
    let parts: Vec<String> = values
        .iter()
        .map(|v| {
            if like {
                let p = s.bind(format!("%{v}%"));
                format!("{} LIKE ${p}", dialect.tags_text())
            } else {
                dialect.has_tag(s.bind(v.as_str()))
            }
        })
        .collect();
    if parts.is_empty() {
        "1 = 1".into()
    } else {
        format!("({})", parts.join(join))
    }
}
