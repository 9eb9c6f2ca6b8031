//! SaslHandshake (17), SaslAuthenticate (36) on a PLAINTEXT listener. Kafka answers both with
//! ILLEGAL_SASL_STATE there (the connection is already "authenticated" as ANONYMOUS), which tells
//! a client configured for SASL what is wrong instead of a closed connection.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{Reply, RequestContext};

pub async fn handshake(ctx: RequestContext, _req: SaslHandshakeRequest) -> Reply {
    ctx.reply(
        &SaslHandshakeResponse::default().with_error_code(ResponseError::IllegalSaslState.code()),
    )
}

pub async fn authenticate(ctx: RequestContext, _req: SaslAuthenticateRequest) -> Reply {
    ctx.reply(
        &SaslAuthenticateResponse::default()
            .with_error_code(ResponseError::IllegalSaslState.code())
            .with_error_message(Some(StrBytes::from_static_str(
                "SaslAuthenticate request received after successful authentication",
            ))),
    )
}
