//! The VPC: two public subnets with an internet gateway and an S3 gateway endpoint, or an existing
//! VPC and subnets given as parameters.

use serde::Serialize;

use crate::TemplateError;
use crate::intrinsics::{Expr, az, get_att, if_, r#ref, sub};
use crate::params::{
    COND_CREATE_VPC, EXISTING_SUBNET1_ID, EXISTING_SUBNET2_ID, EXISTING_VPC_ID, SUBNET1_CIDR,
    SUBNET2_CIDR, StackParams, VPC_CIDR,
};
use crate::template::{ResourceProperties, Template};

/// The VPC (reference id).
pub const VPC: &str = "VPC";
/// First subnet (reference id).
pub const SUBNET1: &str = "Subnet1";
/// Second subnet (reference id).
pub const SUBNET2: &str = "Subnet2";
/// Internet gateway (reference id).
pub const INTERNET_GATEWAY: &str = "InternetGateway";
/// Gateway attachment (reference id, misspelling included).
pub const GATEWAY_ATTACHMENT: &str = "GatewayAttachement";
/// Route table (reference id).
pub const ROUTE_TABLE: &str = "PublicRouteTable";
/// Default route (reference id).
pub const DEFAULT_ROUTE: &str = "DefaultGateway";
/// Subnet 1 association (reference id).
pub const SUBNET1_RTA: &str = "Subnet1RTA";
/// Subnet 2 association (reference id).
pub const SUBNET2_RTA: &str = "Subnet2RTA";
/// S3 gateway endpoint: the migration function answers CloudFormation through it.
pub const S3_ENDPOINT: &str = "S3GatewayEndpoint";

/// What later components need from the network.
#[derive(Debug, Clone)]
pub struct Network {
    /// The VPC id.
    pub vpc_id: Expr,
    /// The VPC's CIDR, which bounds the internal ingress rules.
    pub vpc_cidr: Expr,
    /// The two subnet ids.
    pub subnets: Vec<Expr>,
    /// Present when the stack made its own S3 endpoint, for ordering.
    pub s3_endpoint: Expr,
    /// `ENABLED` in the created public subnets, `DISABLED` in existing ones (reached through NAT).
    pub assign_public_ip: Expr,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VpcProps {
    cidr_block: Expr,
    enable_dns_hostnames: bool,
    enable_dns_support: bool,
}
impl ResourceProperties for VpcProps {
    const TYPE: &'static str = "AWS::EC2::VPC";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SubnetProps {
    availability_zone: Expr,
    cidr_block: Expr,
    // Public: without a NAT gateway, Fargate tasks and Batch instances reach image registries this way.
    map_public_ip_on_launch: bool,
    vpc_id: Expr,
}
impl ResourceProperties for SubnetProps {
    const TYPE: &'static str = "AWS::EC2::Subnet";
}

#[derive(Serialize)]
struct InternetGatewayProps {}
impl ResourceProperties for InternetGatewayProps {
    const TYPE: &'static str = "AWS::EC2::InternetGateway";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttachmentProps {
    internet_gateway_id: Expr,
    vpc_id: Expr,
}
impl ResourceProperties for AttachmentProps {
    const TYPE: &'static str = "AWS::EC2::VPCGatewayAttachment";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RouteTableProps {
    vpc_id: Expr,
}
impl ResourceProperties for RouteTableProps {
    const TYPE: &'static str = "AWS::EC2::RouteTable";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RouteProps {
    destination_cidr_block: &'static str,
    gateway_id: Expr,
    route_table_id: Expr,
}
impl ResourceProperties for RouteProps {
    const TYPE: &'static str = "AWS::EC2::Route";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AssociationProps {
    route_table_id: Expr,
    subnet_id: Expr,
}
impl ResourceProperties for AssociationProps {
    const TYPE: &'static str = "AWS::EC2::SubnetRouteTableAssociation";
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointProps {
    route_table_ids: Vec<Expr>,
    service_name: Expr,
    vpc_endpoint_type: &'static str,
    vpc_id: Expr,
}
impl ResourceProperties for EndpointProps {
    const TYPE: &'static str = "AWS::EC2::VPCEndpoint";
}

/// Add the VPC, or point at the existing one.
pub fn add(t: &mut Template, _p: &StackParams) -> Result<Network, TemplateError> {
    let c = COND_CREATE_VPC;
    t.add(
        VPC,
        &VpcProps {
            cidr_block: r#ref(VPC_CIDR),
            enable_dns_hostnames: true,
            enable_dns_support: true,
        },
    )?
    .condition(c);
    for (id, i, cidr) in [(SUBNET1, 0, SUBNET1_CIDR), (SUBNET2, 1, SUBNET2_CIDR)] {
        t.add(
            id,
            &SubnetProps {
                availability_zone: az(i),
                cidr_block: r#ref(cidr),
                map_public_ip_on_launch: true,
                vpc_id: r#ref(VPC),
            },
        )?
        .condition(c);
    }
    t.add(INTERNET_GATEWAY, &InternetGatewayProps {})?
        .condition(c);
    t.add(
        GATEWAY_ATTACHMENT,
        &AttachmentProps {
            internet_gateway_id: r#ref(INTERNET_GATEWAY),
            vpc_id: r#ref(VPC),
        },
    )?
    .condition(c);
    t.add(ROUTE_TABLE, &RouteTableProps { vpc_id: r#ref(VPC) })?
        .condition(c);
    t.add(
        DEFAULT_ROUTE,
        &RouteProps {
            destination_cidr_block: "0.0.0.0/0",
            gateway_id: r#ref(INTERNET_GATEWAY),
            route_table_id: r#ref(ROUTE_TABLE),
        },
    )?
    .condition(c)
    // The route needs the gateway attached, which no property of the route expresses.
    .depends_on(&[GATEWAY_ATTACHMENT]);
    for (id, subnet) in [(SUBNET1_RTA, SUBNET1), (SUBNET2_RTA, SUBNET2)] {
        t.add(
            id,
            &AssociationProps {
                route_table_id: r#ref(ROUTE_TABLE),
                subnet_id: r#ref(subnet),
            },
        )?
        .condition(c);
    }
    t.add(
        S3_ENDPOINT,
        &EndpointProps {
            route_table_ids: vec![r#ref(ROUTE_TABLE)],
            service_name: sub("com.amazonaws.${AWS::Region}.s3"),
            vpc_endpoint_type: "Gateway",
            vpc_id: r#ref(VPC),
        },
    )?
    .condition(c);

    Ok(Network {
        vpc_id: if_(c, r#ref(VPC), r#ref(EXISTING_VPC_ID)),
        vpc_cidr: if_(c, get_att(VPC, "CidrBlock"), r#ref(VPC_CIDR)),
        subnets: vec![
            if_(c, r#ref(SUBNET1), r#ref(EXISTING_SUBNET1_ID)),
            if_(c, r#ref(SUBNET2), r#ref(EXISTING_SUBNET2_ID)),
        ],
        s3_endpoint: if_(c, r#ref(S3_ENDPOINT), crate::intrinsics::no_value()),
        assign_public_ip: if_(c, "ENABLED", "DISABLED"),
    })
}

/// `AWS::EC2::SecurityGroup`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroup {
    /// The description; changing it replaces the group, so reference groups keep theirs.
    pub group_description: String,
    /// Outbound rules; none means AWS's default allow-all egress.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_group_egress: Vec<Rule>,
    /// Inbound rules declared inline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_group_ingress: Vec<Rule>,
    /// The VPC.
    pub vpc_id: Expr,
}

impl ResourceProperties for SecurityGroup {
    const TYPE: &'static str = "AWS::EC2::SecurityGroup";
}

impl SecurityGroup {
    /// A group with no inline rules.
    pub fn new(description: &str, vpc_id: Expr) -> Self {
        SecurityGroup {
            group_description: description.to_string(),
            security_group_egress: Vec::new(),
            security_group_ingress: Vec::new(),
            vpc_id,
        }
    }
}

/// One TCP rule of a security group, from a CIDR or another group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    /// Why the rule exists.
    pub description: String,
    /// The protocol, `tcp`.
    pub ip_protocol: &'static str,
    /// First port.
    pub from_port: i64,
    /// Last port.
    pub to_port: i64,
    /// Source or destination CIDR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr_ip: Option<Expr>,
    /// Source group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_security_group_id: Option<Expr>,
}

impl Rule {
    /// TCP `from..=to` with a CIDR.
    pub fn tcp_cidr(description: &str, from: i64, to: i64, cidr: Expr) -> Self {
        Rule {
            description: description.to_string(),
            ip_protocol: "tcp",
            from_port: from,
            to_port: to,
            cidr_ip: Some(cidr),
            source_security_group_id: None,
        }
    }

    /// TCP `from..=to` from another security group.
    pub fn tcp_group(description: &str, from: i64, to: i64, group: Expr) -> Self {
        Rule {
            source_security_group_id: Some(group),
            cidr_ip: None,
            ..Rule::tcp_cidr(description, from, to, "".into())
        }
    }
}

/// `AWS::EC2::SecurityGroupIngress`: a rule declared apart from its group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ingress {
    /// The group the rule belongs to.
    pub group_id: Expr,
    /// The rule.
    #[serde(flatten)]
    pub rule: Rule,
}

impl ResourceProperties for Ingress {
    const TYPE: &'static str = "AWS::EC2::SecurityGroupIngress";
}
