//! DescribeAcls (29), CreateAcls (30), DeleteAcls (31). Strata has no authorizer, and Kafka
//! without one answers every ACL request with SECURITY_DISABLED: at the top level for a
//! describe, per creation and per filter otherwise, with Kafka's messages.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::DeleteAclsFilterResult;
use kafka_protocol::messages::{
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{Reply, RequestContext};

const DISABLED: ResponseError = ResponseError::SecurityDisabled;

/// Kafka refuses to parse a binding or filter naming an UNKNOWN (or out-of-range) resource
/// type, pattern type, operation or permission type, and closes the connection; so does this.
fn parseable(resource_type: i8, pattern_type: i8, operation: i8, permission_type: i8) -> bool {
    (1..=7).contains(&resource_type)
        && (1..=4).contains(&pattern_type)
        && (1..=14).contains(&operation)
        && (1..=3).contains(&permission_type)
}

pub async fn describe(ctx: RequestContext, req: DescribeAclsRequest) -> Reply {
    if !parseable(
        req.resource_type_filter,
        req.pattern_type_filter,
        req.operation,
        req.permission_type,
    ) {
        return Reply::Close;
    }
    ctx.reply(
        &DescribeAclsResponse::default()
            .with_error_code(DISABLED.code())
            .with_error_message(Some(StrBytes::from_static_str(
                "No Authorizer is configured on the broker",
            ))),
    )
}

fn not_configured() -> Option<StrBytes> {
    Some(StrBytes::from_static_str("No Authorizer is configured."))
}

pub async fn create(ctx: RequestContext, req: CreateAclsRequest) -> Reply {
    if !req.creations.iter().all(|c| {
        parseable(
            c.resource_type,
            c.resource_pattern_type,
            c.operation,
            c.permission_type,
        )
    }) {
        return Reply::Close;
    }
    let results = req
        .creations
        .iter()
        .map(|_| {
            AclCreationResult::default()
                .with_error_code(DISABLED.code())
                .with_error_message(not_configured())
        })
        .collect();
    ctx.reply(&CreateAclsResponse::default().with_results(results))
}

pub async fn delete(ctx: RequestContext, req: DeleteAclsRequest) -> Reply {
    if !req.filters.iter().all(|f| {
        parseable(
            f.resource_type_filter,
            f.pattern_type_filter,
            f.operation,
            f.permission_type,
        )
    }) {
        return Reply::Close;
    }
    let results = req
        .filters
        .iter()
        .map(|_| {
            DeleteAclsFilterResult::default()
                .with_error_code(DISABLED.code())
                .with_error_message(not_configured())
        })
        .collect();
    ctx.reply(&DeleteAclsResponse::default().with_filter_results(results))
}
