//! A request frame body as a client could send it: the fixed header prefix, the full header and
//! the body decoded for every routed key and version. Nothing may panic or allocate by a length
//! the bytes do not back.
#![no_main]

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestKind};
use libfuzzer_sys::fuzz_target;
use strata::handlers::ROUTES;
use strata::network::codec;

fuzz_target!(|data: &[u8]| {
    let Ok(prefix) = codec::read_prefix(data) else { return };
    let Some(route) = ROUTES.iter().find(|r| r.key as i16 == prefix.api_key) else { return };
    if !route.supports(prefix.api_version) || route.key == ApiKey::Produce && prefix.api_version < 3 {
        return;
    }
    let mut frame = Bytes::copy_from_slice(data);
    if codec::decode_header(route.key, prefix.api_version, &mut frame).is_ok() {
        let _ = RequestKind::decode(route.key, &mut frame, prefix.api_version);
    }
});
