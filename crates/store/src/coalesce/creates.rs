//! Run, step and task creations written as one multi-row INSERT … RETURNING per group.

use std::collections::HashMap;

use crate::binds::{Arg, Statement};
use crate::sql_store::{Db, Rows};
use crate::{Result, RunRow, StepRow, StoreError, TaskRow};

/// One row to insert: its values, in the order of the statement's columns, and how its errors name it.
pub(crate) struct Insert {
    pub args: Vec<Arg>,
    pub what: String,
}

/// How an inserted row is matched back to the request that sent it.
pub(crate) trait Inserted: Rows + 'static {
    /// Rows whose keys the database generates come back ordered by that key, which it assigns in
    /// VALUES order on both engines; others carry their own unique key.
    fn order(&self) -> Order;
    /// The same for a request, `index` being its place in the VALUES list.
    fn order_of(insert: &Insert, index: usize) -> Order;
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Order {
    Generated(i64),
    Key(String),
}

impl Inserted for RunRow {
    fn order(&self) -> Order {
        Order::Generated(self.run_number)
    }
    fn order_of(_: &Insert, index: usize) -> Order {
        Order::Generated(index as i64)
    }
}

impl Inserted for TaskRow {
    fn order(&self) -> Order {
        Order::Generated(self.task_id)
    }
    fn order_of(_: &Insert, index: usize) -> Order {
        Order::Generated(index as i64)
    }
}

/// Steps are keyed by flow, run number and name: the first, second and fourth values bound.
impl Inserted for StepRow {
    fn order(&self) -> Order {
        Order::Key(step_key(&self.flow_id, self.run_number, &self.step_name))
    }
    fn order_of(insert: &Insert, _: usize) -> Order {
        match (&insert.args[0], &insert.args[1], &insert.args[3]) {
            (Arg::Text(flow), Arg::I64(run), Arg::Text(step)) => {
                Order::Key(step_key(flow, *run, step))
            }
            _ => Order::Key(String::new()),
        }
    }
}

fn step_key(flow: &str, run_number: i64, step: &str) -> String {
    format!("{flow}\u{0}{run_number}\u{0}{step}")
}

/// Insert a group of rows with `sql(n)` (an n-row INSERT … RETURNING), answering each request with
/// its own row. When the statement fails for a reason that may be one request's (a duplicate, a
/// missing parent, a value too long) each request is inserted on its own, in order, so only the
/// offender fails; a database fault is every request's answer.
pub(crate) async fn insert_group<R: Inserted>(
    db: &Db,
    inserts: Vec<Insert>,
    sql: fn(usize) -> String,
) -> Vec<Result<R>> {
    if inserts.len() > 1 {
        match insert_together::<R>(db, &inserts, sql).await {
            Ok(Some(rows)) => return rows.into_iter().map(Ok).collect(),
            // The rows are in; inserting them again one by one would duplicate them.
            Ok(None) => {
                let unmatched = || {
                    Err(StoreError::Other(
                        "a multi-row insert returned rows that match no request".into(),
                    ))
                };
                return inserts.iter().map(|_| unmatched()).collect();
            }
            Err(StoreError::Unavailable(fault)) => return shared(&fault, inserts.len()),
            Err(_) => {}
        }
    }
    let mut answers = Vec::with_capacity(inserts.len());
    for Insert { args, what } in inserts {
        let statement = Statement { text: sql(1), args };
        answers.push(db.inserted(statement, &what).await);
    }
    answers
}

async fn insert_together<R: Inserted>(
    db: &Db,
    inserts: &[Insert],
    sql: fn(usize) -> String,
) -> Result<Option<Vec<R>>> {
    let args = inserts
        .iter()
        .flat_map(|i| i.args.iter().cloned())
        .collect();
    let statement = Statement {
        text: sql(inserts.len()),
        args,
    };
    let rows: Vec<R> = db.all(&db.writer, statement, "rows").await?;
    Ok(matched(inserts, rows))
}

/// Rows in request order, or `None` when they do not pair off one to one.
fn matched<R: Inserted>(inserts: &[Insert], rows: Vec<R>) -> Option<Vec<R>> {
    if rows.len() != inserts.len() {
        return None;
    }
    let mut by_order: Vec<(Order, R)> = rows.into_iter().map(|r| (r.order(), r)).collect();
    by_order.sort_by(|a, b| a.0.cmp(&b.0));
    let mut wanted: Vec<(Order, usize)> = inserts
        .iter()
        .enumerate()
        .map(|(i, insert)| (R::order_of(insert, i), i))
        .collect();
    wanted.sort();
    let mut placed: HashMap<usize, R> = HashMap::with_capacity(inserts.len());
    for ((want, index), (got, row)) in wanted.into_iter().zip(by_order) {
        if matches!((&want, &got), (Order::Key(a), Order::Key(b)) if a != b) {
            return None;
        }
        placed.insert(index, row);
    }
    (0..inserts.len()).map(|i| placed.remove(&i)).collect()
}

/// The same database fault, once per request.
pub(crate) fn shared<T>(fault: &str, n: usize) -> Vec<Result<T>> {
    (0..n)
        .map(|_| Err(StoreError::Unavailable(fault.to_owned())))
        .collect()
}
