//! The stack's ECS services and the image each one runs, for `mfstack status`: after an image
//! rolls out, the running tasks' digests say whether the new one serves.

use std::collections::BTreeSet;

use aws_sdk_cloudformation::types::StackResource;
use aws_sdk_ecs::types::DesiredStatus;

use crate::aws::Aws;
use crate::error::Error;

const SERVICE_TYPE: &str = "AWS::ECS::Service";
const CLUSTER_TYPE: &str = "AWS::ECS::Cluster";
const NESTED_STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// One ECS service of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceImage {
    /// Its logical id, nested ones as `Nested/LogicalId`.
    pub logical_id: String,
    /// Its physical id (the service ARN).
    pub service: String,
    pub desired: i32,
    pub running: i32,
    /// The image its current task definition names.
    pub image: Option<String>,
    /// Distinct image digests of its running tasks, as ECS resolved them at start.
    pub running_digests: Vec<String>,
    /// Why ECS could not say more, when it could not.
    pub unknown: Option<String>,
}

/// Every ECS service in `stack` and its nested stacks, with the images they run.
pub async fn services(aws: &Aws, stack: &str) -> Result<Vec<ServiceImage>, Error> {
    let root = resources(aws, stack).await?;
    let root_cluster = physical_of_type(&root, CLUSTER_TYPE);
    let mut found: Vec<(String, String)> = Vec::new();
    for r in &root {
        let (kind, logical) = (r.resource_type().unwrap_or_default(), logical_id(r));
        if kind == SERVICE_TYPE {
            found.push((logical, r.physical_resource_id().unwrap_or_default().into()));
        } else if kind == NESTED_STACK_TYPE
            && let Some(id) = r.physical_resource_id()
        {
            for n in resources(aws, id).await? {
                if n.resource_type() == Some(SERVICE_TYPE) {
                    let physical = n.physical_resource_id().unwrap_or_default().into();
                    found.push((format!("{logical}/{}", logical_id(&n)), physical));
                }
            }
        }
    }
    let mut out = Vec::new();
    for (logical_id, service) in found {
        let cluster = cluster_of(&service).or(root_cluster.clone());
        let mut s = ServiceImage {
            logical_id,
            service,
            desired: 0,
            running: 0,
            image: None,
            running_digests: Vec::new(),
            unknown: None,
        };
        match cluster {
            Some(cluster) => {
                if let Err(e) = describe(aws, &cluster, &mut s).await {
                    s.unknown = Some(e);
                }
            }
            None => s.unknown = Some("its cluster is not known".into()),
        }
        out.push(s);
    }
    Ok(out)
}

/// The cluster named in a service ARN of the long form (`…:service/CLUSTER/NAME`).
pub fn cluster_of(service_arn: &str) -> Option<String> {
    let path = service_arn.split_once(":service/")?.1;
    let (cluster, _) = path.split_once('/')?;
    Some(cluster.to_string())
}

async fn describe(aws: &Aws, cluster: &str, s: &mut ServiceImage) -> Result<(), String> {
    let ecs = aws.ecs();
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(&s.service)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DescribeServices", e).to_string())?;
    let service = out.services().first().ok_or("ECS does not know it")?;
    s.desired = service.desired_count();
    s.running = service.running_count();
    if let Some(td) = service.task_definition() {
        let def = ecs
            .describe_task_definition()
            .task_definition(td)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeTaskDefinition", e).to_string())?;
        s.image = def
            .task_definition()
            .and_then(|t| t.container_definitions().first())
            .and_then(|c| c.image())
            .map(str::to_string);
    }
    let name = service.service_name().unwrap_or_default();
    let tasks = ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(name)
        .desired_status(DesiredStatus::Running)
        .send()
        .await
        .map_err(|e| Error::from_sdk("ListTasks", e).to_string())?;
    if tasks.task_arns().is_empty() {
        return Ok(());
    }
    let described = ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(tasks.task_arns().to_vec()))
        .send()
        .await
        .map_err(|e| Error::from_sdk("DescribeTasks", e).to_string())?;
    let digests: BTreeSet<String> = described
        .tasks()
        .iter()
        .flat_map(|t| t.containers())
        .filter_map(|c| c.image_digest())
        .map(str::to_string)
        .collect();
    s.running_digests = digests.into_iter().collect();
    Ok(())
}

async fn resources(aws: &Aws, stack: &str) -> Result<Vec<StackResource>, Error> {
    match aws
        .cloudformation()
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
    {
        Ok(r) => Ok(r.stack_resources().to_vec()),
        // As in `status`: moto cannot list some resource types, and that should not hide the rest.
        Err(e)
            if e.raw_response()
                .is_some_and(|r| r.status().is_server_error()) =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(Error::from_sdk("DescribeStackResources", e)),
    }
}

fn physical_of_type(resources: &[StackResource], kind: &str) -> Option<String> {
    resources
        .iter()
        .find(|r| r.resource_type() == Some(kind))
        .and_then(|r| r.physical_resource_id())
        .map(str::to_string)
}

fn logical_id(r: &StackResource) -> String {
    r.logical_resource_id().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_service_arns_name_their_cluster() {
        assert_eq!(
            cluster_of("arn:aws:ecs:us-east-1:123456789012:service/mf-Cluster-1a/mf-Metadata-2b")
                .as_deref(),
            Some("mf-Cluster-1a")
        );
        assert_eq!(
            cluster_of("arn:aws:ecs:us-east-1:123456789012:service/old-style"),
            None
        );
        assert_eq!(cluster_of("not-an-arn"), None);
    }
}
