//! Draws the deployer's events for a person: a live bar on a terminal, plain lines in logs, and
//! yes/no questions on stdin. (The deployer's own `tracker` only counts; this only shows.)

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use mfstack_deployer::events::{Decision, DeployEvent, DeployUi, Phase, PreviewRow, RootCause};

/// Draws events and asks questions on the terminal.
pub struct Drawer {
    yes: bool,
    bar: Option<ProgressBar>,
    tty: bool,
    last_plain: Option<(usize, usize)>,
    /// Set when a question could not be asked (no terminal, no `--yes`).
    pub needed_yes: bool,
}

impl Drawer {
    /// `yes` answers every question with yes.
    pub fn new(yes: bool) -> Self {
        Self {
            yes,
            bar: None,
            tty: std::io::stderr().is_terminal(),
            last_plain: None,
            needed_yes: false,
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    fn ask(&mut self, question: &str) -> bool {
        if self.yes {
            return true;
        }
        if !std::io::stdin().is_terminal() {
            self.needed_yes = true;
            return false;
        }
        if let Some(bar) = &self.bar {
            bar.suspend(|| ());
        }
        print!("{question} [y/N] ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
    }

    fn finish_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl DeployUi for Drawer {
    fn event(&mut self, event: &DeployEvent) {
        match event {
            DeployEvent::ArtifactsBucket { bucket, created } => {
                let verb = if *created { "created" } else { "using" };
                self.line(&format!("Artifacts bucket: {bucket} ({verb})"));
            }
            DeployEvent::Artifact {
                name,
                url,
                bytes,
                uploaded,
            } => {
                let what = if *uploaded {
                    "uploaded"
                } else {
                    "unchanged, not uploaded"
                };
                self.line(&format!("  {name}: {bytes} bytes, {what}\n    {url}"));
            }
            DeployEvent::ImageRepository { uri, created } => {
                let verb = if *created { "created" } else { "using" };
                self.line(&format!("Image repository: {uri} ({verb})"));
            }
            DeployEvent::ImageBlob {
                what,
                digest,
                bytes,
                pushed,
            } => {
                let what_happened = if *pushed {
                    "pushed"
                } else {
                    "already in the registry"
                };
                self.line(&format!(
                    "  {what}: {bytes} bytes, {what_happened} ({digest})"
                ));
            }
            DeployEvent::ImagePushed {
                reference,
                tag,
                blobs_pushed,
                blobs_skipped,
                bytes_pushed,
                elapsed,
            } => self.line(&format!(
                "Service image pushed: {blobs_pushed} blob(s) pushed ({bytes_pushed} bytes), \
                 {blobs_skipped} already there, in {:.1}s\n  {reference} (tag {tag})",
                elapsed.as_secs_f64()
            )),
            DeployEvent::ExistingStack { status } => {
                self.line(&format!("Existing stack: {}", status.as_str()))
            }
            DeployEvent::DeletingEmptyStack => {
                self.line("Deleting the rolled-back stack before creating it again...")
            }
            DeployEvent::LiftingDeletionProtection { parameter } => self.line(&format!(
                "Turning off deletion protection on the database ({parameter}=false)..."
            )),
            DeployEvent::ChangeSetCreating { name, create } => {
                let kind = if *create { "create" } else { "update" };
                self.line(&format!("Creating change set {name} ({kind})..."));
            }
            DeployEvent::Snapshot { id, done: false } => self.line(&format!(
                "Taking database snapshot {id} before the update (RDS console > Snapshots)..."
            )),
            DeployEvent::Snapshot { id, done: true } => {
                self.line(&format!("Snapshot {id} is available."))
            }
            DeployEvent::Preview(rows) => self.line(&preview_table(rows)),
            DeployEvent::Capabilities {
                capabilities,
                because,
            } => self.line(&format!(
                "IAM: the stack creates {} IAM resource(s) ({}), so it is deployed with {}.",
                because.len(),
                because.join(", "),
                capabilities.join(" and ")
            )),
            DeployEvent::NoChanges => {
                self.line("No changes: the stack already matches. Nothing to deploy.")
            }
            DeployEvent::Executing => {
                self.line("Executing change set...");
                if self.tty {
                    let bar = ProgressBar::new(0);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {pos}/{len} resources {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    self.bar = Some(bar);
                }
            }
            DeployEvent::Resource(r) => {
                // On a terminal only failures scroll; the bar shows the rest.
                let failed = r.reason.is_some() && r.status.as_str().ends_with("FAILED");
                if !self.tty || failed {
                    let nested = if r.nested {
                        format!(" [{}]", r.stack_name)
                    } else {
                        String::new()
                    };
                    let reason = r
                        .reason
                        .as_deref()
                        .map(|x| format!(": {x}"))
                        .unwrap_or_default();
                    self.line(&format!(
                        "  {:<28} {:<40} {}{nested}{reason}",
                        r.status.as_str(),
                        r.resource_type,
                        r.logical_id
                    ));
                }
            }
            DeployEvent::Progress(p) => {
                let nested = if p.nested_stacks > 0 {
                    format!(", {} nested stack(s)", p.nested_stacks)
                } else {
                    String::new()
                };
                let mut doing = p
                    .in_progress
                    .iter()
                    .take(4)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                if p.in_progress.len() > 4 {
                    doing.push_str(&format!(" +{}", p.in_progress.len() - 4));
                }
                let failed = if p.failed > 0 {
                    format!(", {} failed", p.failed)
                } else {
                    String::new()
                };
                match &self.bar {
                    Some(bar) => {
                        bar.set_length(p.total as u64);
                        bar.set_position(p.done as u64);
                        let doing = if doing.is_empty() {
                            String::new()
                        } else {
                            format!("| in progress: {doing}")
                        };
                        bar.set_message(format!("{doing}{nested}{failed}"));
                    }
                    None => {
                        // In logs, a line only when the counts move.
                        if self.last_plain != Some((p.done, p.total)) {
                            self.last_plain = Some((p.done, p.total));
                            println!(
                                "  [{:>4}s] {}/{} resources done{nested}{failed}",
                                p.elapsed.as_secs(),
                                p.done,
                                p.total
                            );
                        }
                    }
                }
            }
            DeployEvent::Finished { status, phase } => {
                self.finish_bar();
                let word = if *phase == Phase::Complete {
                    "finished"
                } else {
                    "stopped"
                };
                println!("Stack {word}: {}", status.as_str());
            }
        }
    }

    fn decide(&mut self, decision: &Decision) -> bool {
        match decision {
            Decision::RecreateRolledBackStack { stack } => self.ask(&format!(
                "Stack {stack} is in ROLLBACK_COMPLETE (its first create failed) and cannot be updated. Delete it and create it again?"
            )),
            Decision::ExecuteChangeSet { changes } => self.ask(&format!("Execute these {changes} change(s)?")),
        }
    }
}

/// The change set as a table: `Action | LogicalResourceId | ResourceType | Replacement`.
pub fn preview_table(rows: &[PreviewRow]) -> String {
    let head = ["Action", "LogicalResourceId", "ResourceType", "Replacement"];
    let cells: Vec<[&str; 4]> = rows
        .iter()
        .map(|r| {
            let replacement = if r.replacement.is_empty() {
                "N/A"
            } else {
                r.replacement.as_str()
            };
            [
                r.action.as_str(),
                r.logical_id.as_str(),
                r.resource_type.as_str(),
                replacement,
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for c in &cells {
        for (w, v) in width.iter_mut().zip(c) {
            *w = (*w).max(v.len());
        }
    }
    let fmt = |c: [&str; 4]| {
        format!(
            "{:<a$}  {:<b$}  {:<c$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            a = width[0],
            b = width[1],
            c = width[2]
        )
        .trim_end()
        .to_string()
    };
    let mut out = vec![
        format!("CloudFormation change set ({} change(s)):", rows.len()),
        fmt(head),
    ];
    out.push(fmt(width
        .map(|w| "-".repeat(w))
        .each_ref()
        .map(String::as_str)));
    out.extend(cells.into_iter().map(fmt));
    out.join("\n")
}

/// Root causes as indented lines, for after a failed operation.
pub fn causes(causes: &[RootCause]) -> String {
    let mut out = vec!["Root causes:".to_string()];
    for c in causes {
        let place = match (c.logical_id.is_empty(), c.stack_name.is_empty()) {
            (true, _) => "stack".to_string(),
            (false, true) => format!("{} ({})", c.logical_id, c.resource_type),
            (false, false) => format!("{} ({}) in {}", c.logical_id, c.resource_type, c.stack_name),
        };
        out.push(format!("  - {place}: {}", c.reason));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_is_an_aligned_table() {
        let rows = [
            PreviewRow {
                action: "Add".into(),
                logical_id: "Bucket".into(),
                resource_type: "AWS::S3::Bucket".into(),
                replacement: String::new(),
            },
            PreviewRow {
                action: "Modify".into(),
                logical_id: "Db".into(),
                resource_type: "AWS::RDS::DBInstance".into(),
                replacement: "True".into(),
            },
        ];
        let want = "CloudFormation change set (2 change(s)):\n\
                    Action  LogicalResourceId  ResourceType          Replacement\n\
                    ------  -----------------  --------------------  -----------\n\
                    Add     Bucket             AWS::S3::Bucket       N/A\n\
                    Modify  Db                 AWS::RDS::DBInstance  True";
        assert_eq!(preview_table(&rows), want);
    }
}
