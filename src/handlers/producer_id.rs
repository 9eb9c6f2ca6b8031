//! InitProducerId (key 22): idempotent producers here; transactional ids go to the
//! transaction coordinator (`transactions`).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::{Reply, RequestContext};

pub async fn handle(ctx: RequestContext, req: InitProducerIdRequest) -> Reply {
    let base = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if req.transactional_id.as_ref().is_some_and(|t| t.is_empty()) {
        // Kafka: an empty transactional id is a malformed request, not a transactional producer.
        return ctx.reply(&base.with_error_code(ResponseError::InvalidRequest.code()));
    }
    if let Some(id) = &req.transactional_id {
        let id = id.to_string();
        return super::transactions::init_producer_id(
            ctx,
            id,
            req.transaction_timeout_ms,
            req.producer_id.0,
            req.producer_epoch,
        )
        .await;
    }
    let resp = match ctx.broker.next_producer_id() {
        Ok(id) => base
            .with_producer_id(ProducerId(id.0))
            .with_producer_epoch(0),
        Err(e) => {
            tracing::error!(error = %e, "cannot allocate a producer id");
            base.with_error_code(ResponseError::CoordinatorNotAvailable.code())
        }
    };
    ctx.reply(&resp)
}
