//! ApiVersions (key 18): derived from the route table.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use super::routes::ROUTES;
use super::{Reply, RequestContext};
use crate::network::codec;

fn api_keys() -> Vec<ApiVersion> {
    ROUTES
        .iter()
        .map(|r| {
            ApiVersion::default()
                .with_api_key(r.key as i16)
                .with_min_version(r.min)
                .with_max_version(r.max)
        })
        .collect()
}

/// Kafka's rule for client software name and version (KIP-511).
fn valid_software_field(s: &str) -> bool {
    let b = s.as_bytes();
    let edge_ok = |c: u8| c.is_ascii_alphanumeric();
    !b.is_empty()
        && edge_ok(b[0])
        && edge_ok(b[b.len() - 1])
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
}

pub async fn handle(ctx: RequestContext, req: ApiVersionsRequest) -> Reply {
    let mut resp = ApiVersionsResponse::default()
        .with_api_keys(api_keys())
        .with_finalized_features_epoch(-1);
    if ctx.version() >= 3
        && (!valid_software_field(&req.client_software_name)
            || !valid_software_field(&req.client_software_version))
    {
        resp.error_code = ResponseError::InvalidRequest.code();
    }
    ctx.reply(&resp)
}

/// A client asked for a version this broker lacks: answer in v0 with UNSUPPORTED_VERSION and the
/// supported ranges, so the client can retry with a version both sides know (KIP-511).
pub fn unsupported_version(correlation_id: i32) -> Reply {
    let resp = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys());
    match codec::encode_response(correlation_id, 0, &resp, 0) {
        Ok(b) => Reply::Now(b),
        Err(_) => Reply::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_names() {
        for ok in ["librdkafka", "apache-kafka-java", "1.2.3", "a"] {
            assert!(valid_software_field(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "a_b"] {
            assert!(!valid_software_field(bad), "{bad}");
        }
    }
}
