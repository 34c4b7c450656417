//! One listing statement from a resource's statement and the §4 grammar.
//!
//! The shape, from the inside out:
//! `r`: the resource's statement, filtered on stored columns (and, when nothing derived is
//! involved, already sorted and cut to the page); `b`: one wrapper per derived layer, each adding
//! columns computed from the layer below; `x`: filters and order on derived columns, and the page.
//! Grouped listings page the group labels and keep the first `_group_limit` rows of each.

use super::catalog::{Catalog, Column, Kind, Layer};
use super::{UiOp, UiQuery};
use crate::Result;
use crate::binds::Statement;
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::filters::{Filter, FilterOp, FilterValue, filter_clauses, tag_clause};

/// A derived layer: `(column name, expression over alias b)`, computed together.
pub(crate) type DerivedLayer = Vec<(&'static str, String)>;

/// Wrap `s` (the resource's statement, binds included) into the listing `query` asks for.
pub(crate) fn build(
    dialect: Dialect,
    catalog: &Catalog,
    mut s: Statement,
    layers: &[DerivedLayer],
    query: &UiQuery,
) -> Result<Statement> {
    let source = std::mem::take(&mut s.text);
    let (mut base_where, mut outer_where) = (Vec::new(), Vec::new());
    for f in &query.filters {
        let Some(column) = catalog.column(&f.field) else {
            continue;
        };
        let alias = alias_of(column);
        let clause = match f.op {
            UiOp::Regex => regex_clause(dialect, alias, column, &f.values, &mut s),
            UiOp::Op(op) => {
                let filter = Filter {
                    field: column,
                    op,
                    values: f
                        .values
                        .iter()
                        .map(|v| value(column, op, v))
                        .collect::<Result<_>>()?,
                };
                let column_sql = |c: &Column| column_expr(dialect, alias_of(c), c);
                filter_clauses(dialect, &[filter], column_sql, &mut s).pop()
            }
        };
        if let Some(clause) = clause {
            match column.layer {
                Layer::Base => base_where.push(clause),
                Layer::Derived => outer_where.push(clause),
            }
        }
    }
    for t in &query.tags {
        if catalog.column("tags").is_some() {
            base_where.push(tag_clause(dialect, t, &mut s));
        }
    }
    let order = order_of(catalog, query);
    let groups: Vec<&Column> = query
        .group
        .iter()
        .filter_map(|g| catalog.column(g))
        .filter(|c| c.kind != Kind::Json)
        .collect();
    let pushed = groups.is_empty()
        && outer_where.is_empty()
        && order.iter().all(|(c, _)| c.layer == Layer::Base);
    let limit = i64::from(query.limit.max(1));
    let offset = i64::from(query.page.max(1) - 1) * limit;

    let mut text = format!("SELECT * FROM ({source}) r{}", where_sql(&base_where));
    if pushed {
        let (l, o) = (s.bind(limit), s.bind(offset));
        text += &format!(
            " ORDER BY {} LIMIT ${l} OFFSET ${o}",
            order_sql(&order, "r")
        );
    }
    for layer in layers {
        let columns: String = layer
            .iter()
            .map(|(name, expr)| format!(", {expr} AS \"{name}\""))
            .collect();
        text = format!("SELECT b.*{columns} FROM ({text}) b");
    }
    let rows = format!("SELECT * FROM ({text}) x{}", where_sql(&outer_where));
    s.text = if !groups.is_empty() {
        grouped(&rows, &groups, &order, query, &mut s, dialect)
    } else if pushed {
        format!("{rows} ORDER BY {}", order_sql(&order, "x"))
    } else {
        let (l, o) = (s.bind(limit), s.bind(offset));
        format!(
            "{rows} ORDER BY {} LIMIT ${l} OFFSET ${o}",
            order_sql(&order, "x")
        )
    };
    Ok(s)
}

fn alias_of(column: &Column) -> &'static str {
    match column.layer {
        Layer::Base => "r",
        Layer::Derived => "x",
    }
}

fn column_expr(dialect: Dialect, alias: &str, column: &Column) -> String {
    let quoted = format!("{alias}.\"{}\"", column.name);
    match column.kind {
        Kind::Json => dialect.json_text(&quoted),
        _ => quoted,
    }
}

/// A filter value for `column`: numbers for numeric comparisons, text for pattern matches.
fn value(column: &Column, op: FilterOp, raw: &str) -> Result<FilterValue> {
    if raw == "null" {
        return Ok(FilterValue::Null);
    }
    let pattern = matches!(
        op,
        FilterOp::Co | FilterOp::Sw | FilterOp::Ew | FilterOp::Li
    );
    if column.kind == Kind::Int && !pattern {
        return raw.trim().parse().map(FilterValue::Int).map_err(|_| {
            StoreError::Invalid(format!("{} takes an integer, not {raw:?}", column.name))
        });
    }
    Ok(FilterValue::Text(raw.to_owned()))
}

fn regex_clause(
    dialect: Dialect,
    alias: &str,
    column: &Column,
    values: &[String],
    s: &mut Statement,
) -> Option<String> {
    let col = column_expr(dialect, alias, column);
    let parts: Vec<String> = values
        .iter()
        .map(|v| dialect.regex_match(&format!("CAST({col} AS TEXT)"), s.bind(v.as_str())))
        .collect();
    (!parts.is_empty()).then(|| format!("({})", parts.join(" OR ")))
}

fn order_of(catalog: &Catalog, query: &UiQuery) -> Vec<(&'static Column, bool)> {
    let mut order: Vec<(&'static Column, bool)> = query
        .order
        .iter()
        .filter_map(|o| catalog.column(&o.column).map(|c| (c, o.ascending)))
        .collect();
    if order.is_empty() {
        order = named(catalog, catalog.default_order);
    }
    for (c, asc) in named(catalog, catalog.tiebreak) {
        if !order.iter().any(|(o, _)| o.name == c.name) {
            order.push((c, asc));
        }
    }
    order
}

fn named(catalog: &Catalog, terms: &[(&str, bool)]) -> Vec<(&'static Column, bool)> {
    terms
        .iter()
        .filter_map(|(name, asc)| catalog.column(name).map(|c| (c, *asc)))
        .collect()
}

/// Stored `NOT NULL` in every table. Ordering them without a NULLS clause changes nothing, and
/// lets SQLite walk an index for the order: it will not for `DESC NULLS FIRST`, which is not its
/// own default, so the runs page sorted every run.
const NEVER_NULL: &[&str] = &["flow_id", "run_number", "step_name", "task_id", "ts_epoch"];

/// NULLs sort as PostgreSQL sorts them by default, on both engines.
fn order_sql(order: &[(&Column, bool)], alias: &str) -> String {
    order
        .iter()
        .map(|(c, asc)| {
            let never_null = c.layer == Layer::Base && NEVER_NULL.contains(&c.name);
            let dir = match (*asc, never_null) {
                (true, true) => "ASC",
                (false, true) => "DESC",
                (true, false) => "ASC NULLS LAST",
                (false, false) => "DESC NULLS FIRST",
            };
            format!("{alias}.\"{}\" {dir}", c.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn where_sql(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    }
}

/// Group labels paged by `_limit`/`_page` in label order; the first `_group_limit` rows of each.
fn grouped(
    rows: &str,
    groups: &[&Column],
    order: &[(&Column, bool)],
    query: &UiQuery,
    s: &mut Statement,
    dialect: Dialect,
) -> String {
    let limit = i64::from(query.limit.max(1));
    let offset = i64::from(query.page.max(1) - 1) * limit;
    let labels: Vec<String> = groups.iter().map(|c| format!("\"{}\"", c.name)).collect();
    let label_order: Vec<String> = labels
        .iter()
        .map(|l| format!("{l} ASC NULLS LAST"))
        .collect();
    let join: Vec<String> = labels
        .iter()
        .map(|l| format!("x.{l} {} g.{l}", dialect.null_safe_eq()))
        .collect();
    let partition: Vec<String> = labels.iter().map(|l| format!("x.{l}")).collect();
    let (l, o, gl) = (
        s.bind(limit),
        s.bind(offset),
        s.bind(i64::from(query.group_limit.max(1))),
    );
    let group_first: Vec<String> = labels
        .iter()
        .map(|l| format!("y.{l} ASC NULLS LAST"))
        .collect();
    format!(
        "WITH matched AS ({rows}), \
         labels AS (SELECT DISTINCT {cols} FROM matched ORDER BY {label_order} LIMIT ${l} OFFSET ${o}) \
         SELECT * FROM (SELECT x.*, ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {within}) \
         AS _group_row FROM matched x JOIN labels g ON {join}) y WHERE y._group_row <= ${gl} \
         ORDER BY {group_first}, {rest}",
        cols = labels.join(", "),
        label_order = label_order.join(", "),
        partition = partition.join(", "),
        within = order_sql(order, "x"),
        join = join.join(" AND "),
        group_first = group_first.join(", "),
        rest = order_sql(order, "y"),
    )
}
