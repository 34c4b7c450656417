//! Where Metaflow keeps its data: the datastore bucket, the metadata database with its secret,
//! and the stack's encryption key.

pub mod buckets;
pub mod database;
pub mod kms;
pub mod secrets;

use super::network::Network;
use crate::TemplateError;
use crate::intrinsics::{Expr, get_att, r#ref};
use crate::params::StackParams;
use crate::template::Template;

/// What later components need from storage.
#[derive(Debug, Clone)]
pub struct Storage {
    /// The bucket's ARN.
    pub bucket_arn: Expr,
    /// The key's ARN.
    pub key_arn: Expr,
    /// The database secret's ARN.
    pub db_secret: Expr,
    /// The database host name.
    pub db_host: Expr,
    /// The database port.
    pub db_port: Expr,
    /// The log bucket's name.
    pub logs_bucket: Expr,
}

/// Add the key, the buckets and the database.
pub fn add(t: &mut Template, _p: &StackParams, net: &Network) -> Result<Storage, TemplateError> {
    kms::add(t)?;
    buckets::add(t)?;
    database::add(t, net)?;
    Ok(Storage {
        bucket_arn: get_att(buckets::BUCKET, "Arn"),
        key_arn: get_att(kms::KMS_KEY, "Arn"),
        db_secret: r#ref(database::DB_SECRET),
        db_host: get_att(database::DATABASE, "Endpoint.Address"),
        db_port: get_att(database::DATABASE, "Endpoint.Port"),
        logs_bucket: r#ref(buckets::LOGS_BUCKET),
    })
}
