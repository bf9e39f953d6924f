//! The session machine without sockets: upgrade, heartbeat, batching, closing.

use std::time::Duration;

use super::*;
use crate::engineio::payload::encode_payload;

const PING_INTERVAL: Duration = Duration::from_millis(25_000);
const PING_TIMEOUT: Duration = Duration::from_millis(20_000);
const WINDOW: Duration = Duration::from_millis(45_000);

fn handshake(upgrades: &[&str], max_payload: Option<u64>) -> Handshake {
    Handshake {
        sid: "sid".into(),
        upgrades: upgrades.iter().map(|u| u.to_string()).collect(),
        ping_interval: PING_INTERVAL,
        ping_timeout: PING_TIMEOUT,
        max_payload,
    }
}

/// The time `elapsed` after `start`, on both clocks.
fn later(start: Now, elapsed: Duration) -> Now {
    Now {
        instant: start.instant + elapsed,
        wall: start.wall + elapsed,
    }
}

fn message(text: &str) -> EnginePacket {
    EnginePacket::Message(text.into())
}

fn controls(machine: &mut Machine) -> Vec<Control> {
    std::iter::from_fn(|| machine.poll_control()).collect()
}

fn transmits(machine: &mut Machine) -> Vec<Transmit> {
    std::iter::from_fn(|| machine.poll_transmit()).collect()
}

fn events(machine: &mut Machine) -> Vec<Event> {
    std::iter::from_fn(|| machine.poll_event()).collect()
}

fn post(packets: &[EnginePacket]) -> Transmit {
    Transmit::Post(packets.to_vec())
}

fn frame(link: Link, packet: EnginePacket) -> Transmit {
    Transmit::Frame { link, packet }
}

/// The one close event the machine reports.
fn closed(machine: &mut Machine) -> (DisconnectReason, Option<TransportError>) {
    match events(machine).as_mut_slice() {
        [Event::Closed { reason, error }] => (*reason, error.take()),
        other => panic!("expected one close, got {other:?}"),
    }
}

/// A polling session offered WebSocket, its probe open and `2probe` written.
fn probing(start: Now) -> Machine {
    let mut machine = Machine::new(
        EngineVersion::V4,
        &handshake(&["websocket"], Some(1_000_000)),
        TransportKind::Polling,
        true,
        start,
    );
    assert_eq!(
        controls(&mut machine),
        [Control::OpenProbe, Control::HoldPolling]
    );
    machine.on_probe_opened();
    assert_eq!(
        transmits(&mut machine),
        [frame(Link::Probe, EnginePacket::PingProbe)]
    );
    assert_eq!(machine.upgrade_phase(), Phase::Probing);
    machine
}

/// `probing` after `3probe`: polling is pausing.
fn pausing(start: Now) -> Machine {
    let mut machine = probing(start);
    machine.on_packet(Link::Probe, EnginePacket::PongProbe, || start);
    assert_eq!(controls(&mut machine), [Control::PausePolling]);
    machine
}

/// A WebSocket session.
fn websocket(start: Now) -> Machine {
    Machine::new(
        EngineVersion::V4,
        &handshake(&[], None),
        TransportKind::WebSocket,
        true,
        start,
    )
}

fn assert_fell_back_to_polling(machine: &mut Machine) {
    assert_eq!(machine.upgrade_phase(), Phase::Failed);
    assert_eq!(
        controls(machine),
        [Control::CloseProbe, Control::ReleasePolling]
    );
    assert_eq!(machine.transport(), TransportKind::Polling);
    assert!(machine.is_writable());
}

mod upgrade {
    use super::*;

    #[test]
    fn a_polling_session_offered_websocket_opens_a_probe_and_holds_polling() {
        let start = Now::current();
        let mut machine = Machine::new(
            EngineVersion::V4,
            &handshake(&["websocket"], None),
            TransportKind::Polling,
            true,
            start,
        );
        assert_eq!(machine.upgrade_phase(), Phase::Opening);
        assert_eq!(
            controls(&mut machine),
            [Control::OpenProbe, Control::HoldPolling]
        );
        assert!(machine.is_writable());
    }

    #[test]
    fn no_probe_without_the_servers_offer_the_clients_wish_or_on_websocket() {
        let start = Now::current();
        let unoffered = Machine::new(
            EngineVersion::V4,
            &handshake(&[], None),
            TransportKind::Polling,
            true,
            start,
        );
        let unwanted = Machine::new(
            EngineVersion::V4,
            &handshake(&["websocket"], None),
            TransportKind::Polling,
            false,
            start,
        );
        let on_websocket = Machine::new(
            EngineVersion::V4,
            &handshake(&["websocket"], None),
            TransportKind::WebSocket,
            true,
            start,
        );
        for mut machine in [unoffered, unwanted, on_websocket] {
            assert_eq!(machine.upgrade_phase(), Phase::Off);
            assert!(controls(&mut machine).is_empty());
            assert_eq!(machine.next_deadline(), start.instant + WINDOW);
        }
    }

    #[test]
    fn the_open_probe_is_sent_2probe_and_3probe_pauses_polling() {
        let start = Now::current();
        let mut machine = probing(start);
        machine.on_packet(Link::Probe, EnginePacket::PongProbe, || start);
        assert_eq!(
            machine.upgrade_phase(),
            Phase::Pausing { get_paused: false }
        );
        assert_eq!(controls(&mut machine), [Control::PausePolling]);
        assert!(!machine.is_writable(), "writes wait for the WebSocket");
    }

    #[test]
    fn packets_sent_while_the_probe_is_under_way_go_over_polling_in_order() {
        let start = Now::current();
        let mut machine = Machine::new(
            EngineVersion::V4,
            &handshake(&["websocket"], None),
            TransportKind::Polling,
            true,
            start,
        );
        machine.send(message("a"));
        machine.send(message("b"));
        assert_eq!(
            transmits(&mut machine),
            [post(&[message("a"), message("b")])]
        );
        machine.on_probe_opened();
        machine.send(message("c"));
        assert_eq!(
            transmits(&mut machine),
            [frame(Link::Probe, EnginePacket::PingProbe)],
            "the next POST waits for the answer to the previous one"
        );
        machine.on_posted();
        assert_eq!(transmits(&mut machine), [post(&[message("c")])]);
    }

    #[test]
    fn packets_sent_while_polling_pauses_are_held_and_follow_the_upgrade_in_order() {
        let start = Now::current();
        let mut machine = probing(start);
        machine.send(message("a"));
        assert_eq!(transmits(&mut machine), [post(&[message("a")])]);
        machine.on_packet(Link::Probe, EnginePacket::PongProbe, || start);
        assert_eq!(controls(&mut machine), [Control::PausePolling]);
        machine.send(message("b"));
        machine.send(EnginePacket::Binary(vec![1, 2].into()));
        assert!(transmits(&mut machine).is_empty(), "held while pausing");
        machine.on_polling_paused();
        assert!(
            !machine.can_transmit(),
            "the POST in flight drains before the switch"
        );
        machine.on_posted();
        assert!(machine.can_transmit());
        assert_eq!(transmits(&mut machine), [Transmit::Switch]);
        assert_eq!(machine.upgrade_phase(), Phase::Upgrading);
        machine.send(message("c"));
        assert!(transmits(&mut machine).is_empty(), "held while switching");
        machine.on_switched();
        assert_eq!(machine.upgrade_phase(), Phase::Done);
        assert_eq!(machine.transport(), TransportKind::WebSocket);
        assert!(machine.is_writable());
        assert_eq!(
            transmits(&mut machine),
            [
                frame(Link::Current, message("b")),
                frame(Link::Current, EnginePacket::Binary(vec![1, 2].into())),
                frame(Link::Current, message("c")),
            ]
        );
    }

    #[test]
    fn the_switch_waits_for_the_get_loop_to_stop() {
        let start = Now::current();
        let mut machine = pausing(start);
        assert!(!machine.can_transmit());
        assert!(transmits(&mut machine).is_empty());
        machine.on_polling_paused();
        assert_eq!(transmits(&mut machine), [Transmit::Switch]);
    }

    #[test]
    fn packets_received_over_polling_while_it_pauses_are_delivered() {
        let start = Now::current();
        let mut machine = pausing(start);
        machine.on_packet(Link::Current, message("late"), || start);
        assert!(matches!(
            events(&mut machine).as_slice(),
            [Event::Deliver(EnginePacket::Message(m))] if m == "late"
        ));
    }

    #[test]
    fn a_noop_on_the_probe_while_polling_pauses_is_ignored() {
        let start = Now::current();
        let mut machine = pausing(start);
        machine.on_packet(Link::Probe, EnginePacket::Noop, || start);
        assert_eq!(
            machine.upgrade_phase(),
            Phase::Pausing { get_paused: false }
        );
        assert!(controls(&mut machine).is_empty());
    }

    #[test]
    fn a_probe_that_fails_to_open_falls_back_to_polling_and_keeps_the_packets() {
        let start = Now::current();
        let mut machine = Machine::new(
            EngineVersion::V4,
            &handshake(&["websocket"], None),
            TransportKind::Polling,
            true,
            start,
        );
        controls(&mut machine);
        machine.send(message("a"));
        machine.on_failed(
            Link::Probe,
            Some(TransportError::WebSocket("refused".into())),
        );
        assert_fell_back_to_polling(&mut machine);
        assert_eq!(transmits(&mut machine), [post(&[message("a")])]);
        assert!(events(&mut machine).is_empty(), "the session goes on");
    }

    #[test]
    fn a_probe_answered_with_another_packet_than_3probe_falls_back_to_polling() {
        let start = Now::current();
        let mut machine = probing(start);
        machine.send(message("a"));
        machine.on_packet(Link::Probe, EnginePacket::Noop, || start);
        assert_fell_back_to_polling(&mut machine);
        assert_eq!(transmits(&mut machine), [post(&[message("a")])]);
    }

    #[test]
    fn a_probe_closed_before_3probe_falls_back_to_polling() {
        let start = Now::current();
        let mut machine = probing(start);
        machine.on_failed(Link::Probe, None);
        assert_fell_back_to_polling(&mut machine);
        assert!(events(&mut machine).is_empty());
    }

    #[test]
    fn a_probe_without_3probe_by_its_deadline_falls_back_to_polling() {
        let start = Now::current();
        let mut machine = probing(start);
        assert_eq!(machine.next_deadline(), start.instant + WINDOW);
        // The heartbeat moved on with a ping; the probe's deadline did not.
        machine.on_packet(Link::Current, EnginePacket::Ping, || {
            later(start, Duration::from_secs(10))
        });
        assert_eq!(machine.next_deadline(), start.instant + WINDOW);
        machine.on_timeout(start.instant + WINDOW);
        assert_fell_back_to_polling(&mut machine);
        assert!(events(&mut machine).is_empty(), "the session goes on");
        assert_eq!(
            machine.next_deadline(),
            start.instant + Duration::from_secs(10) + WINDOW
        );
    }

    #[test]
    fn a_probe_lost_while_polling_pauses_falls_back_and_posts_the_held_packets_in_order() {
        let start = Now::current();
        let mut machine = pausing(start);
        machine.send(message("a"));
        machine.send(message("b"));
        machine.on_polling_paused();
        machine.on_failed(Link::Probe, None);
        assert_fell_back_to_polling(&mut machine);
        assert_eq!(
            transmits(&mut machine),
            [post(&[message("a"), message("b")])]
        );
    }

    #[test]
    fn a_failed_switch_falls_back_to_polling_and_posts_the_held_packets_in_order() {
        let start = Now::current();
        let mut machine = pausing(start);
        machine.send(message("a"));
        machine.on_polling_paused();
        assert_eq!(transmits(&mut machine), [Transmit::Switch]);
        machine.send(message("b"));
        machine.on_failed(Link::Probe, Some(TransportError::WebSocket("reset".into())));
        assert_fell_back_to_polling(&mut machine);
        machine.on_switched();
        assert_eq!(
            machine.transport(),
            TransportKind::Polling,
            "no late switch"
        );
        assert_eq!(
            transmits(&mut machine),
            [post(&[message("a"), message("b")])]
        );
    }

    #[test]
    fn a_probe_that_opens_after_its_upgrade_failed_is_closed() {
        let start = Now::current();
        let mut machine = Machine::new(
            EngineVersion::V4,
            &handshake(&["websocket"], None),
            TransportKind::Polling,
            true,
            start,
        );
        controls(&mut machine);
        machine.on_packet(Link::Current, EnginePacket::Ping, || {
            later(start, Duration::from_secs(1))
        });
        machine.on_timeout(start.instant + WINDOW - Duration::from_millis(1));
        assert_eq!(machine.upgrade_phase(), Phase::Opening, "not due yet");
        machine.on_timeout(start.instant + WINDOW);
        assert_fell_back_to_polling(&mut machine);
        machine.on_probe_opened();
        assert_eq!(controls(&mut machine), [Control::CloseProbe]);
        assert_eq!(
            transmits(&mut machine),
            [post(&[EnginePacket::Pong])],
            "no 2probe"
        );
    }

    #[test]
    fn a_failure_of_the_current_transport_during_the_upgrade_ends_the_session() {
        let start = Now::current();
        let mut machine = pausing(start);
        machine.on_failed(Link::Current, Some(TransportError::Io("reset".into())));
        let (reason, error) = closed(&mut machine);
        assert_eq!(reason, DisconnectReason::TransportError);
        assert!(matches!(error, Some(TransportError::Io(_))));
    }
}

mod heartbeat {
    use super::*;

    #[test]
    fn a_ping_is_answered_with_a_pong() {
        let start = Now::current();
        let mut machine = websocket(start);
        machine.on_packet(Link::Current, EnginePacket::Ping, || start);
        assert_eq!(
            transmits(&mut machine),
            [frame(Link::Current, EnginePacket::Pong)]
        );
        assert!(events(&mut machine).is_empty(), "pings are not delivered");
    }

    #[test]
    fn a_pong_goes_behind_the_packets_queued_before_it() {
        let start = Now::current();
        let mut machine = websocket(start);
        machine.send(message("a"));
        machine.on_packet(Link::Current, EnginePacket::Ping, || start);
        assert_eq!(
            transmits(&mut machine),
            [
                frame(Link::Current, message("a")),
                frame(Link::Current, EnginePacket::Pong),
            ]
        );
    }

    #[test]
    fn the_deadline_is_ping_interval_plus_ping_timeout_after_the_last_ping() {
        let start = Now::current();
        let mut machine = websocket(start);
        assert_eq!(machine.next_deadline(), start.instant + WINDOW);
        let ping = later(start, Duration::from_secs(25));
        machine.on_packet(Link::Current, EnginePacket::Ping, || ping);
        assert_eq!(machine.next_deadline(), ping.instant + WINDOW);
        assert_eq!(machine.heartbeat_deadline(), ping.instant + WINDOW);
    }

    #[test]
    fn no_ping_by_the_deadline_closes_with_ping_timeout() {
        let start = Now::current();
        let mut machine = websocket(start);
        machine.on_timeout(start.instant + WINDOW - Duration::from_millis(1));
        assert!(events(&mut machine).is_empty(), "not due yet");
        machine.on_timeout(start.instant + WINDOW);
        let (reason, error) = closed(&mut machine);
        assert_eq!(reason, DisconnectReason::PingTimeout);
        assert!(error.is_none());
    }

    #[test]
    fn a_ping_over_polling_keeps_the_session_alive_past_the_first_deadline() {
        let start = Now::current();
        let mut machine = Machine::new(
            EngineVersion::V4,
            &handshake(&[], None),
            TransportKind::Polling,
            true,
            start,
        );
        machine.on_packet(Link::Current, EnginePacket::Ping, || {
            later(start, Duration::from_secs(40))
        });
        assert_eq!(transmits(&mut machine), [post(&[EnginePacket::Pong])]);
        machine.on_timeout(start.instant + WINDOW);
        assert!(events(&mut machine).is_empty());
    }

    #[test]
    fn a_suspension_longer_than_the_window_expires_the_session_on_the_wall_clock() {
        let start = Now::current();
        let machine = websocket(start);
        assert!(!machine.is_expired(start.wall + WINDOW - Duration::from_millis(1)));
        assert!(machine.is_expired(start.wall + Duration::from_secs(3600)));
    }
}

mod packets {
    use super::*;

    #[test]
    fn messages_are_delivered_in_order_and_engine_packets_are_not() {
        let start = Now::current();
        let mut machine = websocket(start);
        for packet in [
            message("a"),
            EnginePacket::Noop,
            EnginePacket::Binary(vec![7].into()),
            EnginePacket::Upgrade,
            message("b"),
        ] {
            machine.on_packet(Link::Current, packet, || start);
        }
        let delivered: Vec<EnginePacket> = events(&mut machine)
            .into_iter()
            .map(|event| match event {
                Event::Deliver(packet) => packet,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            delivered,
            [
                message("a"),
                EnginePacket::Binary(vec![7].into()),
                message("b")
            ]
        );
    }

    #[test]
    fn only_a_ping_asks_for_the_time() {
        let start = Now::current();
        let mut machine = websocket(start);
        for packet in [
            message("a"),
            EnginePacket::Binary(vec![1].into()),
            EnginePacket::Noop,
        ] {
            machine.on_packet(Link::Current, packet, || panic!("the time was read"));
        }
        let mut asked = false;
        machine.on_packet(Link::Current, EnginePacket::Ping, || {
            asked = true;
            start
        });
        assert!(asked);
    }

    #[test]
    fn a_close_packet_from_the_server_closes_with_transport_close() {
        let start = Now::current();
        let mut machine = websocket(start);
        machine.on_packet(Link::Current, EnginePacket::Close, || start);
        let (reason, error) = closed(&mut machine);
        assert_eq!(reason, DisconnectReason::TransportClose);
        assert!(error.is_none());
    }

    #[test]
    fn a_failed_transport_closes_with_the_reason_of_its_error() {
        let start = Now::current();
        let mut machine = websocket(start);
        machine.on_failed(Link::Current, Some(TransportError::InvalidUtf8));
        let (reason, error) = closed(&mut machine);
        assert_eq!(reason, DisconnectReason::InvalidUtf8);
        assert!(matches!(error, Some(TransportError::InvalidUtf8)));
    }

    #[test]
    fn nothing_is_reported_after_the_session_closed() {
        let start = Now::current();
        let mut machine = websocket(start);
        machine.on_failed(Link::Current, None);
        assert_eq!(closed(&mut machine).0, DisconnectReason::TransportClose);
        machine.on_packet(Link::Current, message("late"), || start);
        machine.on_timeout(start.instant + WINDOW);
        machine.on_failed(Link::Current, Some(TransportError::InvalidUtf8));
        assert!(events(&mut machine).is_empty());
    }

    #[test]
    fn websocket_writes_one_frame_per_packet_in_order() {
        let start = Now::current();
        let mut machine = websocket(start);
        machine.send(message("a"));
        machine.send(EnginePacket::Binary(vec![1].into()));
        assert!(machine.can_transmit());
        assert_eq!(
            transmits(&mut machine),
            [
                frame(Link::Current, message("a")),
                frame(Link::Current, EnginePacket::Binary(vec![1].into())),
            ]
        );
        assert!(!machine.can_transmit());
    }
}

mod batching {
    use super::*;

    fn polling(max_payload: Option<u64>) -> Machine {
        Machine::new(
            EngineVersion::V4,
            &handshake(&[], max_payload),
            TransportKind::Polling,
            true,
            Now::current(),
        )
    }

    /// Posts everything queued, answering each POST; returns the bodies' packets.
    fn post_all(machine: &mut Machine) -> Vec<Vec<EnginePacket>> {
        let mut bodies = Vec::new();
        while let Some(transmit) = machine.poll_transmit() {
            match transmit {
                Transmit::Post(packets) => bodies.push(packets),
                other => panic!("unexpected {other:?}"),
            }
            machine.on_posted();
        }
        bodies
    }

    #[test]
    fn a_post_body_never_exceeds_max_payload() {
        let max = 64;
        let mut machine = polling(Some(max));
        for len in [1, 20, 30, 5, 40, 12, 12, 12, 12, 50, 3] {
            machine.send(EnginePacket::Message("x".repeat(len)));
        }
        let bodies = post_all(&mut machine);
        assert!(bodies.len() > 1);
        for packets in &bodies {
            let mut body = String::new();
            encode_payload(packets, None, &mut body);
            assert!(body.len() as u64 <= max, "a body of {} bytes", body.len());
        }
        assert_eq!(bodies.iter().map(Vec::len).sum::<usize>(), 11);
    }

    #[test]
    fn a_packet_larger_than_max_payload_is_posted_alone() {
        let mut machine = polling(Some(16));
        machine.send(message("a"));
        machine.send(EnginePacket::Message("x".repeat(100)));
        machine.send(message("b"));
        assert_eq!(
            post_all(&mut machine),
            [
                vec![message("a")],
                vec![EnginePacket::Message("x".repeat(100))],
                vec![message("b")],
            ]
        );
    }

    #[test]
    fn packets_queued_behind_a_post_go_together_in_the_next_one() {
        let mut machine = polling(Some(1_000_000));
        machine.send(message("a"));
        assert_eq!(transmits(&mut machine), [post(&[message("a")])]);
        machine.send(message("b"));
        machine.send(message("c"));
        assert!(!machine.can_transmit(), "one POST at a time");
        machine.on_posted();
        assert_eq!(
            transmits(&mut machine),
            [post(&[message("b"), message("c")])]
        );
    }

    #[test]
    fn writing_waits_for_the_post_in_flight_once_too_many_packets_queue_behind_it() {
        let mut machine = polling(None);
        machine.send(message("first"));
        transmits(&mut machine);
        for _ in 0..crate::engineio::session::outgoing::MAX_WAITING {
            machine.send(message("x"));
        }
        assert!(machine.is_backlogged());
        machine.on_posted();
        assert!(!machine.is_backlogged());
    }
}

mod closing {
    use super::*;

    #[test]
    fn a_client_close_over_polling_posts_a_close_packet_behind_the_queued_ones() {
        let mut machine = Machine::new(
            EngineVersion::V4,
            &handshake(&[], None),
            TransportKind::Polling,
            true,
            Now::current(),
        );
        machine.send(message("a"));
        machine.close();
        assert!(!machine.is_drained());
        assert_eq!(
            transmits(&mut machine),
            [post(&[message("a"), EnginePacket::Close])]
        );
        assert!(!machine.is_drained(), "the POST is in flight");
        machine.on_posted();
        assert!(machine.is_drained());
    }

    #[test]
    fn a_client_close_while_polling_pauses_stops_the_upgrade_and_posts_the_held_packets() {
        let start = Now::current();
        let mut machine = pausing(start);
        machine.send(message("a"));
        machine.close();
        assert_fell_back_to_polling(&mut machine);
        assert_eq!(
            transmits(&mut machine),
            [post(&[message("a"), EnginePacket::Close])]
        );
    }

    #[test]
    fn a_client_close_over_websocket_queues_no_close_packet() {
        let mut machine = websocket(Now::current());
        machine.close();
        assert!(transmits(&mut machine).is_empty());
        assert!(machine.is_drained());
    }
}

/// Engine.IO v3 (Socket.IO 2.x servers): the client's heartbeat and the framing.
mod v3 {
    use super::*;
    use crate::engineio::payload::Framing;

    fn v3(transport: TransportKind, start: Now) -> Machine {
        Machine::new(
            EngineVersion::V3,
            &handshake(&[], None),
            transport,
            false,
            start,
        )
    }

    #[test]
    fn the_client_pings_every_ping_interval_and_the_pong_moves_the_next_one() {
        let start = Now::current();
        let mut machine = v3(TransportKind::WebSocket, start);
        assert_eq!(machine.next_deadline(), start.instant + PING_INTERVAL);
        machine.on_timeout(start.instant + PING_INTERVAL - Duration::from_millis(1));
        assert!(transmits(&mut machine).is_empty(), "not due yet");
        machine.on_timeout(start.instant + PING_INTERVAL);
        assert_eq!(
            transmits(&mut machine),
            [frame(Link::Current, EnginePacket::Ping)]
        );
        assert_eq!(
            machine.next_deadline(),
            start.instant + PING_INTERVAL + PING_TIMEOUT,
            "the pong is due within pingTimeout"
        );
        let pong = later(start, PING_INTERVAL + Duration::from_secs(1));
        machine.on_packet(Link::Current, EnginePacket::Pong, || pong);
        assert!(events(&mut machine).is_empty(), "pongs are not delivered");
        assert_eq!(machine.next_deadline(), pong.instant + PING_INTERVAL);
        machine.on_timeout(pong.instant + PING_INTERVAL);
        assert_eq!(
            transmits(&mut machine),
            [frame(Link::Current, EnginePacket::Ping)],
            "the next ping"
        );
        assert!(events(&mut machine).is_empty());
    }

    #[test]
    fn no_pong_within_ping_timeout_closes_with_ping_timeout() {
        let start = Now::current();
        let mut machine = v3(TransportKind::Polling, start);
        machine.on_timeout(start.instant + PING_INTERVAL);
        assert_eq!(transmits(&mut machine), [post(&[EnginePacket::Ping])]);
        machine.on_posted();
        machine.on_timeout(start.instant + PING_INTERVAL + PING_TIMEOUT - Duration::from_millis(1));
        assert!(events(&mut machine).is_empty(), "not due yet");
        machine.on_timeout(start.instant + PING_INTERVAL + PING_TIMEOUT);
        assert_eq!(closed(&mut machine).0, DisconnectReason::PingTimeout);
    }

    #[test]
    fn a_server_ping_is_not_answered_and_the_framing_is_length_prefixed() {
        let start = Now::current();
        let mut machine = v3(TransportKind::WebSocket, start);
        machine.on_packet(Link::Current, EnginePacket::Ping, || start);
        assert!(transmits(&mut machine).is_empty());
        assert_eq!(machine.version(), EngineVersion::V3);
        assert_eq!(machine.version().framing(), Framing::LengthPrefixed);
        assert_eq!(websocket(start).version().framing(), Framing::Separated);
    }

    #[test]
    fn a_v3_polling_session_upgrades_as_a_v4_one() {
        let start = Now::current();
        let mut machine = Machine::new(
            EngineVersion::V3,
            &handshake(&["websocket"], None),
            TransportKind::Polling,
            true,
            start,
        );
        assert_eq!(
            controls(&mut machine),
            [Control::OpenProbe, Control::HoldPolling]
        );
        machine.on_probe_opened();
        assert_eq!(
            transmits(&mut machine),
            [frame(Link::Probe, EnginePacket::PingProbe)]
        );
        machine.on_packet(Link::Probe, EnginePacket::PongProbe, || start);
        assert_eq!(controls(&mut machine), [Control::PausePolling]);
        machine.on_polling_paused();
        assert_eq!(transmits(&mut machine), [Transmit::Switch]);
        machine.on_switched();
        assert_eq!(machine.transport(), TransportKind::WebSocket);
    }
}
