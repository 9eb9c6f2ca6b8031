//! FindCoordinator (key 10): this node coordinates every group. v4+ batch several keys.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::{Reply, RequestContext};

const KEY_TYPE_GROUP: i8 = 0;
/// Transactional ids are answered with this node too; until transactions exist their
/// InitProducerId is refused there with a fatal error rather than looping on lookups here.
const KEY_TYPE_TRANSACTION: i8 = 1;

pub async fn handle(ctx: RequestContext, req: FindCoordinatorRequest) -> Reply {
    let v = ctx.version();
    let (host, port) = ctx
        .broker
        .with_config(|c| (c.advertised_host.clone(), c.advertised_port));
    let node = BrokerId(ctx.broker.node_id());
    let known = matches!(req.key_type, KEY_TYPE_GROUP | KEY_TYPE_TRANSACTION);
    let error = if known {
        None
    } else {
        Some(ResponseError::InvalidRequest)
    };
    if v >= 4 {
        let coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let c = Coordinator::default().with_key(key);
                match error {
                    None => c
                        .with_node_id(node)
                        .with_host(StrBytes::from_string(host.clone()))
                        .with_port(i32::from(port)),
                    Some(e) => c
                        .with_node_id(BrokerId(-1))
                        .with_port(-1)
                        .with_error_code(e.code())
                        .with_error_message(Some(StrBytes::from_static_str(
                            "unknown coordinator key type",
                        ))),
                }
            })
            .collect();
        return ctx.reply(&FindCoordinatorResponse::default().with_coordinators(coordinators));
    }
    let resp = match error {
        None => FindCoordinatorResponse::default()
            .with_node_id(node)
            .with_host(StrBytes::from_string(host))
            .with_port(i32::from(port)),
        Some(e) => FindCoordinatorResponse::default()
            .with_error_code(e.code())
            .with_node_id(BrokerId(-1))
            .with_port(-1),
    };
    let resp = if v >= 1 && error.is_none() {
        resp.with_error_message(None)
    } else if v >= 1 {
        resp.with_error_message(Some(StrBytes::from_static_str(
            "unknown coordinator key type",
        )))
    } else {
        resp
    };
    ctx.reply(&resp)
}
