//! Bookkeeping over one operation's stack events: progress counts, nested stacks to poll, and
//! root causes. No SDK calls, so recorded event sequences can be replayed in tests.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_cloudformation::types::StackEvent;

use crate::events::{AnyStatus, Phase, Progress, ResourceEvent, RootCause, phase};

const NESTED_STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// Reasons CloudFormation gives to resources that failed only because something else did.
const CASCADE_REASONS: &[&str] = &[
    "Resource creation cancelled",
    "Resource update cancelled",
    "The following resource(s) failed to",
];

#[derive(Debug)]
struct Resource {
    phase: Phase,
    nested: bool,
}

#[derive(Debug)]
struct Failure {
    cause: RootCause,
    /// The stack id of the nested stack this resource is, when it is one.
    nested_stack_id: Option<String>,
    stack_id: String,
}

/// Follows one stack operation across the root stack and its nested stacks.
#[derive(Debug)]
pub(crate) struct Tracker {
    root_stack_id: String,
    expected: usize,
    seen: HashSet<String>,
    resources: BTreeMap<(String, String), Resource>,
    /// Nested stack id → its logical id in the parent, in discovery order.
    nested: BTreeMap<String, String>,
    failures: Vec<Failure>,
    stack_reasons: Vec<String>,
}

impl Tracker {
    /// `expected` is the number of change-set rows for the root stack.
    pub(crate) fn new(root_stack_id: impl Into<String>, expected: usize) -> Self {
        Self {
            root_stack_id: root_stack_id.into(),
            expected,
            seen: HashSet::new(),
            resources: BTreeMap::new(),
            nested: BTreeMap::new(),
            failures: Vec::new(),
            stack_reasons: Vec::new(),
        }
    }

    /// Nested stack ids discovered so far; their events need polling too.
    pub(crate) fn nested_stack_ids(&self) -> Vec<String> {
        self.nested.keys().cloned().collect()
    }

    /// Apply a page of events (any order, duplicates allowed); returns the new ones, oldest first.
    pub(crate) fn apply(&mut self, mut events: Vec<StackEvent>) -> Vec<ResourceEvent> {
        events.sort_by_key(|e| e.timestamp().map(|t| (t.secs(), t.subsec_nanos())));
        let mut fresh = Vec::new();
        for e in events {
            let Some(id) = e.event_id() else { continue };
            if !self.seen.insert(id.to_string()) {
                continue;
            }
            let Some(status) = e.resource_status() else {
                continue;
            };
            let stack_id = e.stack_id().unwrap_or_default().to_string();
            let logical_id = e.logical_resource_id().unwrap_or_default().to_string();
            let resource_type = e.resource_type().unwrap_or_default().to_string();
            let physical = e.physical_resource_id().unwrap_or_default();
            let reason = e.resource_status_reason().map(str::to_string);
            let nested = stack_id != self.root_stack_id;
            let p = phase(AnyStatus::Resource(status));
            let is_self = physical == stack_id;
            fresh.push(ResourceEvent {
                stack_name: e.stack_name().unwrap_or_default().to_string(),
                nested,
                logical_id: logical_id.clone(),
                resource_type: resource_type.clone(),
                status: status.clone(),
                reason: reason.clone(),
            });
            if is_self {
                // The stack's own events: not a resource, but its reason is the last-resort cause.
                if let Some(r) = reason.filter(|_| p != Phase::InProgress && p != Phase::Complete) {
                    self.stack_reasons.push(r);
                }
                continue;
            }
            let nested_stack_id = (resource_type == NESTED_STACK_TYPE
                && physical.starts_with("arn:"))
            .then(|| physical.to_string());
            if let Some(child) = &nested_stack_id {
                self.nested
                    .entry(child.clone())
                    .or_insert_with(|| logical_id.clone());
            }
            if p == Phase::Failed {
                self.failures.push(Failure {
                    cause: RootCause {
                        stack_name: e.stack_name().unwrap_or_default().to_string(),
                        logical_id: logical_id.clone(),
                        resource_type: resource_type.clone(),
                        reason: reason.unwrap_or_default(),
                    },
                    nested_stack_id,
                    stack_id: stack_id.clone(),
                });
            }
            self.resources
                .insert((stack_id, logical_id), Resource { phase: p, nested });
        }
        fresh
    }

    /// Counts as of now.
    pub(crate) fn progress(&self, elapsed: Duration) -> Progress {
        let nested_seen = self.resources.values().filter(|r| r.nested).count();
        let root_seen = self.resources.len() - nested_seen;
        let mut in_progress = Vec::new();
        for ((stack_id, logical), r) in &self.resources {
            if matches!(r.phase, Phase::InProgress | Phase::RollingBack) {
                match self.nested.get(stack_id) {
                    Some(parent) => in_progress.push(format!("{parent}/{logical}")),
                    None => in_progress.push(logical.clone()),
                }
            }
        }
        in_progress.sort();
        Progress {
            done: self
                .resources
                .values()
                .filter(|r| matches!(r.phase, Phase::Complete | Phase::Skipped))
                .count(),
            total: self.expected.max(root_seen) + nested_seen,
            in_progress,
            nested_stacks: self.nested.len(),
            failed: self
                .resources
                .values()
                .filter(|r| r.phase == Phase::Failed)
                .count(),
            elapsed,
        }
    }

    /// The first failures that are causes rather than consequences, de-duplicated.
    pub(crate) fn root_causes(&self) -> Vec<RootCause> {
        let failed_stacks: HashSet<&str> =
            self.failures.iter().map(|f| f.stack_id.as_str()).collect();
        let mut out: Vec<RootCause> = Vec::new();
        for f in &self.failures {
            let cascade = CASCADE_REASONS
                .iter()
                .any(|c| f.cause.reason.starts_with(c));
            // A nested stack's own failure only repeats what its resources said, when we saw them.
            let explained = f
                .nested_stack_id
                .as_deref()
                .is_some_and(|id| failed_stacks.contains(id));
            if cascade
                || explained
                || out
                    .iter()
                    .any(|o| o.logical_id == f.cause.logical_id && o.reason == f.cause.reason)
            {
                continue;
            }
            out.push(f.cause.clone());
        }
        if out.is_empty() {
            out = self
                .failures
                .iter()
                .map(|f| f.cause.clone())
                .take(1)
                .collect();
        }
        if out.is_empty()
            && let Some(reason) = self.stack_reasons.first()
        {
            out.push(RootCause {
                stack_name: String::new(),
                logical_id: String::new(),
                resource_type: NESTED_STACK_TYPE.to_string(),
                reason: reason.clone(),
            });
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::ResourceStatus;
    use aws_smithy_types::DateTime;

    pub(crate) const ROOT: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mf/1";
    pub(crate) const UI: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mf-UI-X/2";

    /// (second, stack id, logical id, type, physical id, status, reason)
    pub(crate) type Row = (
        i64,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );

    pub(crate) fn recorded(rows: &[Row]) -> Vec<StackEvent> {
        rows.iter()
            .enumerate()
            .map(|(i, (t, stack, logical, ty, physical, status, reason))| {
                StackEvent::builder()
                    .event_id(format!("e{i}"))
                    .stack_id(*stack)
                    .stack_name(if *stack == ROOT { "mf" } else { "mf-UI-X" })
                    .logical_resource_id(*logical)
                    .resource_type(*ty)
                    .physical_resource_id(*physical)
                    .resource_status(ResourceStatus::from(*status))
                    .set_resource_status_reason((!reason.is_empty()).then(|| reason.to_string()))
                    .timestamp(DateTime::from_secs(*t))
                    .build()
            })
            .collect()
    }

    /// A create where the nested UI stack fails on its load balancer and everything rolls back.
    const FAILED_CREATE: &[Row] = &[
        (
            1,
            ROOT,
            "mf",
            "AWS::CloudFormation::Stack",
            ROOT,
            "CREATE_IN_PROGRESS",
            "User Initiated",
        ),
        (
            2,
            ROOT,
            "Bucket",
            "AWS::S3::Bucket",
            "",
            "CREATE_IN_PROGRESS",
            "",
        ),
        (
            2,
            ROOT,
            "Vpc",
            "AWS::EC2::VPC",
            "",
            "CREATE_IN_PROGRESS",
            "",
        ),
        (
            3,
            ROOT,
            "Vpc",
            "AWS::EC2::VPC",
            "vpc-1",
            "CREATE_COMPLETE",
            "",
        ),
        (
            4,
            ROOT,
            "UI",
            "AWS::CloudFormation::Stack",
            UI,
            "CREATE_IN_PROGRESS",
            "",
        ),
        (
            5,
            UI,
            "mf-UI-X",
            "AWS::CloudFormation::Stack",
            UI,
            "CREATE_IN_PROGRESS",
            "User Initiated",
        ),
        (
            6,
            UI,
            "Alb",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "",
            "CREATE_IN_PROGRESS",
            "",
        ),
        (
            7,
            UI,
            "Alb",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "",
            "CREATE_FAILED",
            "At least two subnets in two different Availability Zones must be specified",
        ),
        (
            8,
            UI,
            "mf-UI-X",
            "AWS::CloudFormation::Stack",
            UI,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [Alb]. ",
        ),
        (
            9,
            ROOT,
            "UI",
            "AWS::CloudFormation::Stack",
            UI,
            "CREATE_FAILED",
            "Embedded stack arn:aws:cloudformation:us-east-1:123456789012:stack/mf-UI-X/2 was not successfully created: The following resource(s) failed to create: [Alb]. ",
        ),
        (
            9,
            ROOT,
            "Bucket",
            "AWS::S3::Bucket",
            "",
            "CREATE_FAILED",
            "Resource creation cancelled",
        ),
        (
            10,
            ROOT,
            "mf",
            "AWS::CloudFormation::Stack",
            ROOT,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [UI, Bucket]. Rollback requested by user.",
        ),
        (
            11,
            ROOT,
            "Vpc",
            "AWS::EC2::VPC",
            "vpc-1",
            "DELETE_COMPLETE",
            "",
        ),
        (
            12,
            ROOT,
            "mf",
            "AWS::CloudFormation::Stack",
            ROOT,
            "ROLLBACK_COMPLETE",
            "",
        ),
    ];

    #[test]
    fn root_cause_is_the_nested_resource_not_the_cascade() {
        let mut t = Tracker::new(ROOT, 3);
        t.apply(recorded(FAILED_CREATE));
        let causes = t.root_causes();
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].logical_id, "Alb");
        assert_eq!(causes[0].stack_name, "mf-UI-X");
        assert!(causes[0].reason.starts_with("At least two subnets"));
    }

    #[test]
    fn nested_failure_without_nested_events_is_kept() {
        // Without the nested stack's own events, the parent's "Embedded stack" reason is all we have.
        let rows: Vec<Row> = FAILED_CREATE
            .iter()
            .copied()
            .filter(|r| r.1 == ROOT)
            .collect();
        let mut t = Tracker::new(ROOT, 3);
        t.apply(recorded(&rows));
        let causes = t.root_causes();
        assert_eq!(
            causes
                .iter()
                .map(|c| c.logical_id.as_str())
                .collect::<Vec<_>>(),
            ["UI"]
        );
    }

    #[test]
    fn only_cascades_fall_back_to_first_failure_then_stack_reason() {
        let mut t = Tracker::new(ROOT, 1);
        t.apply(recorded(&[(
            1,
            ROOT,
            "B",
            "AWS::S3::Bucket",
            "",
            "CREATE_FAILED",
            "Resource creation cancelled",
        )]));
        assert_eq!(t.root_causes()[0].logical_id, "B");

        // moto's shape: two stack-level events and nothing per resource.
        let mut t = Tracker::new(ROOT, 5);
        t.apply(recorded(&[
            (
                1,
                ROOT,
                "mf",
                "AWS::CloudFormation::Stack",
                ROOT,
                "CREATE_IN_PROGRESS",
                "User Initiated",
            ),
            (
                2,
                ROOT,
                "mf",
                "AWS::CloudFormation::Stack",
                ROOT,
                "ROLLBACK_COMPLETE",
                "Subnet not found",
            ),
        ]));
        assert_eq!(t.root_causes()[0].reason, "Subnet not found");
        assert_eq!(t.progress(Duration::ZERO).total, 5);
    }

    #[test]
    fn progress_counts_nested_stacks_and_ignores_repeats() {
        let mut t = Tracker::new(ROOT, 3);
        let first = t.apply(recorded(&FAILED_CREATE[..7]));
        assert_eq!(first.len(), 7);
        // Polling returns overlapping pages; nothing is counted twice.
        assert!(t.apply(recorded(&FAILED_CREATE[..7])).is_empty());
        let p = t.progress(Duration::from_secs(7));
        assert_eq!(p.done, 1, "{p:?}");
        assert_eq!(p.total, 4, "3 root rows plus the nested Alb");
        assert_eq!(p.nested_stacks, 1);
        assert_eq!(p.in_progress, ["Bucket", "UI", "UI/Alb"]);
        assert_eq!(t.nested_stack_ids(), [UI]);
    }

    #[test]
    fn retained_resources_count_as_done_on_delete() {
        let mut t = Tracker::new(ROOT, 2);
        t.apply(recorded(&[
            (
                1,
                ROOT,
                "Bucket",
                "AWS::S3::Bucket",
                "b",
                "DELETE_SKIPPED",
                "",
            ),
            (
                2,
                ROOT,
                "Vpc",
                "AWS::EC2::VPC",
                "vpc-1",
                "DELETE_COMPLETE",
                "",
            ),
        ]));
        let p = t.progress(Duration::ZERO);
        assert_eq!((p.done, p.total, p.failed), (2, 2, 0));
    }
}
