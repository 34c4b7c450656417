//! The run's DAG from `_graph_info`'s `graph_structure` (a list of step names and split blocks,
//! each block a list of branches), drawn as nested HTML boxes: sequences stack, branches sit side
//! by side, a foreach's branch sits in a dashed box naming what it iterates over.

use std::collections::HashMap;

use maud::{Markup, html};
use serde_json::Value;

use crate::layout;

/// Deeper nesting than any real flow; stops a hostile graph from recursing without end.
const MAX_DEPTH: usize = 32;

/// What the DAG shows of a step.
#[derive(Debug, Clone, Default)]
pub struct StepSummary {
    pub status: String,
    pub tasks: usize,
}

/// The DAG, or the steps in order when the graph has no structure.
pub fn render(dag: &Value, steps: &HashMap<String, StepSummary>, order: &[String]) -> Markup {
    let info = &dag["steps"];
    let body = match dag["graph_structure"].as_array() {
        Some(items) if !items.is_empty() => sequence(items, info, steps, 0),
        _ => html! {
            div.seq { @for name in order { (node(name, info, steps)) } }
        },
    };
    html! { div.dag role="group" aria-label="Steps of the run" { (body) } }
}

fn sequence(
    items: &[Value],
    info: &Value,
    steps: &HashMap<String, StepSummary>,
    depth: usize,
) -> Markup {
    html! {
        div.seq {
            @for (i, item) in items.iter().enumerate() {
                @if i > 0 { div.arrow aria-hidden="true" { "↓" } }
                @match item {
                    Value::String(name) => (node(name, info, steps)),
                    Value::Array(branches) if depth < MAX_DEPTH => {
                        (split(items.get(i.wrapping_sub(1)), branches, info, steps, depth))
                    }
                    _ => {}
                }
            }
        }
    }
}

fn split(
    before: Option<&Value>,
    branches: &[Value],
    info: &Value,
    steps: &HashMap<String, StepSummary>,
    depth: usize,
) -> Markup {
    let parent = before.and_then(Value::as_str).map(|n| &info[n]);
    let foreach = parent
        .filter(|p| p["type"] == "split-foreach")
        .map(|p| p["foreach_artifact"].as_str().unwrap_or("").to_owned());
    html! {
        div.split.foreach[foreach.is_some()] {
            @if let Some(over) = &foreach {
                div.split-label { "foreach over " code { (over) } }
            }
            div.branches {
                @for branch in branches {
                    @if let Some(items) = branch.as_array() {
                        (sequence(items, info, steps, depth + 1))
                    }
                }
            }
        }
    }
}

fn node(name: &str, info: &Value, steps: &HashMap<String, StepSummary>) -> Markup {
    let summary = steps.get(name).cloned().unwrap_or_else(|| StepSummary {
        status: "not started".into(),
        tasks: 0,
    });
    let kind = match info[name]["type"].as_str() {
        Some("join") => Some("join"),
        Some("split-foreach") => Some("foreach"),
        Some("split-static") => Some("branch"),
        Some("split-switch") => Some("switch"),
        _ => None,
    };
    html! {
        a class={ "node st-" (summary.status.replace(' ', "-")) } href={ "#step-" (name) }
            data-step=(name) {
            span.node-name { (name) }
            @if let Some(k) = kind { span.node-kind { (k) } }
            span.node-meta {
                (layout::status(&summary.status))
                " · " (summary.tasks) @if summary.tasks == 1 { " task" } @else { " tasks" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreach_becomes_a_labelled_box_between_its_split_and_join() {
        let dag = serde_json::json!({
            "steps": {
                "start": {"type": "split-foreach", "foreach_artifact": "items"},
                "fan": {"type": "linear"},
                "join": {"type": "join"},
                "end": {"type": "end"}
            },
            "graph_structure": ["start", [["fan"]], "join", "end"]
        });
        let mut steps = HashMap::new();
        steps.insert(
            "fan".to_owned(),
            StepSummary {
                status: "failed".into(),
                tasks: 3,
            },
        );
        let html = render(&dag, &steps, &[]).into_string();
        for step in ["start", "fan", "join", "end"] {
            assert!(
                html.contains(&format!("data-step=\"{step}\"")),
                "{step}: {html}"
            );
        }
        assert!(html.contains("foreach over <code>items</code>"), "{html}");
        assert!(html.contains("✗</span> failed"), "{html}");
        assert!(html.contains("3 tasks"));
    }
}
