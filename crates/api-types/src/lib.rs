//! Wire types of the Metaflow metadata API (`spec/metadata-api.md`).
//!
//! Response structs keep the reference service's key order (spec section 3) so the same GET on the same
//! database gives the same JSON from either service. Odd wire shapes get named constructors with tests
//! that pin their bytes.

mod metadata_value;
mod requests;
mod responses;
mod tags;

pub use metadata_value::MetadataValue;
pub use requests::*;
pub use responses::*;
pub use tags::{MAX_TAGS, TagArgument, TagList};

/// The API level this build implements, reported in `METADATA_SERVICE_VERSION` and by `GET /version`
/// (DECISIONS.md, Compatibility 3). The client needs a PEP 440 version of at least 2.5.0 (spec 10.3).
pub const API_VERSION: &str = "2.5.1";

/// Header that carries [`API_VERSION`]; the client reads it from `GET /ping` only (spec 2.3).
pub const VERSION_HEADER: &str = "METADATA_SERVICE_VERSION";

/// Header that carries mfstack's own version, kept apart from the API level.
pub const PRODUCT_VERSION_HEADER: &str = "X-Mfstack-Version";

/// Seconds the client is told to wait between heartbeats, and the minimum spacing the service accepts
/// (spec 2.6, 6.2).
pub const HEARTBEAT_WAIT_SECONDS: i64 = 10;
