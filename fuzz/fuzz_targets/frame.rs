//! Any byte stream through the frame decoder, and each frame as a whole request (header + body):
//! never a panic, never an allocation beyond the frame limit.
#![no_main]

use bytes::BytesMut;
use kwire_protocol::frame::{decode_request, FrameDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let frames = FrameDecoder::new(1 << 20);
    let mut buf = BytesMut::new();
    // Feed in uneven chunks, as a socket would.
    for chunk in data.chunks(7) {
        buf.extend_from_slice(chunk);
        loop {
            match frames.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let _ = decode_request(frame);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
