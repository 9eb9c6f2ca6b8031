//! CreateDelegationToken (38), RenewDelegationToken (39), ExpireDelegationToken (40),
//! DescribeDelegationToken (41). Kafka refuses token requests on connections not authenticated
//! with SASL (DELEGATION_TOKEN_REQUEST_NOT_ALLOWED), and every Strata connection is PLAINTEXT.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    CreateDelegationTokenRequest, CreateDelegationTokenResponse, DescribeDelegationTokenRequest,
    DescribeDelegationTokenResponse, ExpireDelegationTokenRequest, ExpireDelegationTokenResponse,
    RenewDelegationTokenRequest, RenewDelegationTokenResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{Reply, RequestContext};

const NOT_ALLOWED: ResponseError = ResponseError::DelegationTokenRequestNotAllowed;

pub async fn create(ctx: RequestContext, _req: CreateDelegationTokenRequest) -> Reply {
    // The principal of a PLAINTEXT connection, as Kafka reports it.
    let user = || StrBytes::from_static_str("User");
    let anonymous = || StrBytes::from_static_str("ANONYMOUS");
    let mut resp = CreateDelegationTokenResponse::default()
        .with_error_code(NOT_ALLOWED.code())
        .with_principal_type(user())
        .with_principal_name(anonymous())
        .with_issue_timestamp_ms(-1)
        .with_expiry_timestamp_ms(-1)
        .with_max_timestamp_ms(-1);
    // The requester fields exist from v3 (KIP-373).
    if ctx.version() >= 3 {
        resp = resp
            .with_token_requester_principal_type(user())
            .with_token_requester_principal_name(anonymous());
    }
    ctx.reply(&resp)
}

pub async fn renew(ctx: RequestContext, _req: RenewDelegationTokenRequest) -> Reply {
    ctx.reply(
        &RenewDelegationTokenResponse::default()
            .with_error_code(NOT_ALLOWED.code())
            .with_expiry_timestamp_ms(-1),
    )
}

pub async fn expire(ctx: RequestContext, _req: ExpireDelegationTokenRequest) -> Reply {
    ctx.reply(
        &ExpireDelegationTokenResponse::default()
            .with_error_code(NOT_ALLOWED.code())
            .with_expiry_timestamp_ms(-1),
    )
}

pub async fn describe(ctx: RequestContext, _req: DescribeDelegationTokenRequest) -> Reply {
    ctx.reply(&DescribeDelegationTokenResponse::default().with_error_code(NOT_ALLOWED.code()))
}
