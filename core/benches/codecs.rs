//! Micro-benchmarks of the codecs: Socket.IO packets (encode and decode of typical
//! packets), binary deconstruction (encode with attachments) and reconstruction (decode
//! of a binary packet and its attachments), Engine.IO packets and polling payloads.
//!
//! `cargo bench -p ferrio --bench codecs`

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrio::engineio::packet::EnginePacket;
use ferrio::engineio::payload::{decode_payload, encode_payload};
use ferrio::socketio::{DecodeLimits, Decoder, Incoming, Packet};
use ferrio::Value;

/// A typical small event: a name and one object, as a chat or telemetry app sends.
fn small_event() -> Packet {
    let args: Value = serde_json::from_str::<Value>(
        r#"["message",{"room":"lobby","user":"ada","text":"hello, world","ts":1732630000123}]"#,
    )
    .unwrap();
    let Value::Array(args) = args else {
        unreachable!()
    };
    Packet::event("/", args, None)
}

/// An event with two binary nodes, one nested.
fn binary_event(size: usize) -> Packet {
    let mut object = ferrio::Map::new();
    object.insert("name".into(), Value::from("file.bin"));
    object.insert("chunk".into(), Value::Binary(Bytes::from(vec![7u8; size])));
    let args = vec![
        Value::from("upload"),
        Value::Binary(Bytes::from(vec![1u8; size])),
        Value::Object(object),
    ];
    Packet::event("/", args, Some(12))
}

fn socketio(c: &mut Criterion) {
    let mut group = c.benchmark_group("socketio");
    let small = small_event();
    let (small_text, _) = small.to_text();
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode small event", |b| {
        let mut out = String::with_capacity(128);
        let mut attachments = Vec::new();
        b.iter(|| {
            out.clear();
            black_box(&small).encode(&mut out, &mut attachments);
            black_box(&out);
        })
    });
    group.bench_function("decode small event", |b| {
        let mut decoder = Decoder::new(DecodeLimits::default());
        b.iter(|| black_box(decoder.decode_text(black_box(&small_text)).unwrap()))
    });
    group.bench_function("decode small event and read its values", |b| {
        let mut decoder = Decoder::new(DecodeLimits::default());
        b.iter(|| {
            let packet = decoder.decode_text(black_box(&small_text)).unwrap();
            black_box(packet.map(Incoming::into_packet))
        })
    });
    let ack = Packet::ack("/", 42, vec![Value::from("ok"), Value::from(1)]);
    let (ack_text, _) = ack.to_text();
    group.bench_function("encode ack", |b| {
        b.iter(|| black_box(black_box(&ack).to_text()))
    });
    group.bench_function("decode ack", |b| {
        let mut decoder = Decoder::new(DecodeLimits::default());
        b.iter(|| black_box(decoder.decode_text(black_box(&ack_text)).unwrap()))
    });
    group.finish();

    let mut group = c.benchmark_group("binary");
    for size in [1024usize, 64 * 1024] {
        let packet = binary_event(size);
        let (text, attachments) = packet.to_text();
        group.throughput(Throughput::Bytes(2 * size as u64));
        group.bench_function(format!("deconstruct 2 x {size} B"), |b| {
            b.iter(|| black_box(black_box(&packet).to_text()))
        });
        group.bench_function(format!("reconstruct 2 x {size} B"), |b| {
            b.iter_batched(
                || attachments.clone(),
                |attachments| {
                    let mut decoder = Decoder::new(DecodeLimits::default());
                    assert!(decoder.decode_text(&text).unwrap().is_none());
                    let mut done = None;
                    for attachment in attachments {
                        done = decoder.decode_binary(attachment).unwrap();
                    }
                    black_box(done.unwrap())
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn engineio(c: &mut Criterion) {
    let mut group = c.benchmark_group("engineio");
    let (text, _) = small_event().to_text();
    let packet = EnginePacket::Message(text.clone());
    let frame = format!("4{text}");
    group.bench_function("encode message", |b| {
        let mut out = String::with_capacity(128);
        b.iter(|| {
            out.clear();
            black_box(&packet).encode_text(&mut out);
            black_box(&out);
        })
    });
    group.bench_function("decode message", |b| {
        b.iter(|| black_box(EnginePacket::decode_text(black_box(&frame)).unwrap()))
    });
    let packets: Vec<EnginePacket> = (0..16).map(|_| packet.clone()).collect();
    let mut body = String::new();
    encode_payload(&packets, None, &mut body);
    group.throughput(Throughput::Elements(16));
    group.bench_function("encode payload of 16", |b| {
        let mut out = String::with_capacity(body.len());
        b.iter(|| {
            out.clear();
            black_box(encode_payload(black_box(&packets), None, &mut out));
        })
    });
    group.bench_function("decode payload of 16", |b| {
        b.iter(|| black_box(decode_payload(black_box(&body)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, socketio, engineio);
criterion_main!(benches);
