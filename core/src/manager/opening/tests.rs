//! The opening's transitions, one path each, without sockets: handshakes are answered by
//! the test.

use std::time::Duration;

use super::*;
use crate::options::{ReconnectHook, ServerVersion};

const SECOND: Duration = Duration::from_secs(1);

/// Options with one transport (polling), 10 s per server and 5 s for the hook.
fn options(change: impl FnOnce(&mut ManagerOptions)) -> Arc<ManagerOptions> {
    let mut options = ManagerOptions {
        timeout: 10 * SECOND,
        reconnect_hook_timeout: 5 * SECOND,
        transports: vec![TransportKind::Polling],
        ..ManagerOptions::default()
    };
    change(&mut options);
    Arc::new(options)
}

fn with_hook(options: &mut ManagerOptions) {
    options.on_reconnect = Some(ReconnectHook::new(|_| async { ReconnectUpdate::default() }));
}

/// The manager's servers: the first one's URL, then fallbacks sharing its cookies and
/// version choice (as `manager::start` makes them).
fn servers(options: &ManagerOptions, urls: &[&str]) -> Vec<Arc<Endpoint>> {
    let first = Arc::new(Endpoint::new(&urls[0].parse().expect("url"), options).expect("endpoint"));
    let mut list = vec![first];
    for url in &urls[1..] {
        let update = ReconnectUpdate {
            url: Some((*url).into()),
            ..ReconnectUpdate::default()
        };
        list.push(Arc::new(
            list[0].updated(&update, options).expect("fallback"),
        ));
    }
    list
}

/// Attempt `attempt` over `urls`, started at `now`, and its first step.
fn attempt(
    options: &Arc<ManagerOptions>,
    attempt: u32,
    urls: &[&str],
    now: Instant,
) -> (Opening, Step) {
    let endpoints = servers(options, urls);
    let mut opening = Opening::new(options.clone(), attempt, endpoints, false, None, now);
    let step = opening.start(now);
    (opening, step)
}

/// The server, transport and version of a handshake step.
fn handshake(step: &Step) -> (String, TransportKind, EngineVersion) {
    match step {
        Step::Handshake {
            endpoint,
            transport,
            version,
        } => (endpoint.server_url().to_string(), *transport, *version),
        other => panic!("expected a handshake, got {other:?}"),
    }
}

fn failed(step: Step) -> ConnectError {
    match step {
        Step::Failed(error) => error,
        other => panic!("expected the attempt to fail, got {other:?}"),
    }
}

fn refused() -> TransportError {
    TransportError::Io("connection refused".into())
}

mod first_step {
    use super::*;

    #[test]
    fn a_first_connection_opens_the_first_server_over_the_first_transport_in_v4() {
        let options = options(with_hook);
        let (_, step) = attempt(&options, 0, &["http://a.test/"], Instant::now());
        assert_eq!(
            handshake(&step),
            (
                "http://a.test/".into(),
                TransportKind::Polling,
                EngineVersion::V4
            )
        );
    }

    #[test]
    fn a_reconnection_attempt_runs_the_hook_first() {
        let options = options(with_hook);
        let (_, step) = attempt(&options, 3, &["http://a.test/"], Instant::now());
        assert!(matches!(step, Step::RunHook { attempt: 3 }), "{step:?}");
    }

    #[test]
    fn a_reconnection_attempt_without_a_hook_opens_at_once() {
        let options = options(|_| {});
        let (_, step) = attempt(&options, 2, &["http://a.test/"], Instant::now());
        handshake(&step);
    }

    #[test]
    fn a_manager_set_to_socket_io_2_opens_in_engine_io_v3() {
        let options = options(|o| o.server_version = ServerVersion::V2);
        let (_, step) = attempt(&options, 0, &["http://a.test/"], Instant::now());
        assert_eq!(handshake(&step).2, EngineVersion::V3);
    }

    #[test]
    fn a_replaced_session_closes_then_the_lost_one_then_the_hook_runs() {
        let options = options(with_hook);
        let endpoints = servers(&options, &["http://a.test/"]);
        let lost = Lost {
            endpoint: endpoints[0].clone(),
            sid: "lost".into(),
        };
        let now = Instant::now();
        let mut opening = Opening::new(options, 1, endpoints, true, Some(lost), now);
        assert!(matches!(opening.start(now), Step::CloseSession));
        assert!(
            matches!(opening.on_abandoned(now), Step::Wait),
            "out of order"
        );
        let step = opening.on_closed(now);
        assert!(
            matches!(&step, Step::Abandon(lost) if lost.sid == "lost"),
            "{step:?}"
        );
        assert_eq!(
            opening.next_deadline(),
            now + 2 * SECOND,
            "the close may take 2 s"
        );
        assert!(matches!(
            opening.on_abandoned(now),
            Step::RunHook { attempt: 1 }
        ));
    }

    #[test]
    fn a_lost_session_that_takes_too_long_to_close_is_left_and_the_attempt_goes_on() {
        let options = options(|_| {});
        let endpoints = servers(&options, &["http://a.test/"]);
        let lost = Lost {
            endpoint: endpoints[0].clone(),
            sid: "lost".into(),
        };
        let now = Instant::now();
        let mut opening = Opening::new(options, 0, endpoints, false, Some(lost), now);
        assert!(matches!(opening.start(now), Step::Abandon(_)));
        assert!(matches!(opening.on_timer(now + SECOND), Step::Wait));
        handshake(&opening.on_timer(now + 2 * SECOND));
        assert!(matches!(opening.on_abandoned(now), Step::Wait), "too late");
    }
}

mod hook {
    use super::*;

    fn answered(update: ReconnectUpdate, urls: &[&str]) -> (Opening, Step) {
        let options = options(with_hook);
        let now = Instant::now();
        let (mut opening, step) = attempt(&options, 1, urls, now);
        assert!(matches!(step, Step::RunHook { attempt: 1 }));
        let step = opening.on_hook(update, now);
        (opening, step)
    }

    #[test]
    fn a_url_from_the_hook_is_opened_instead_of_the_first_server_and_kept() {
        let update = ReconnectUpdate {
            url: Some("http://c.test/".into()),
            ..ReconnectUpdate::default()
        };
        let (mut opening, step) = answered(update, &["http://a.test/", "http://b.test/"]);
        assert_eq!(handshake(&step).0, "http://c.test/");
        let reached = opening.opened().expect("opened");
        assert_eq!(reached.endpoint.server_url().as_str(), "http://c.test/");
        let kept: Vec<String> = reached
            .endpoints
            .iter()
            .map(|e| e.server_url().to_string())
            .collect();
        assert_eq!(kept, ["http://c.test/", "http://b.test/"]);
    }

    #[test]
    fn a_query_and_headers_from_the_hook_apply_to_every_server() {
        let update = ReconnectUpdate {
            query: Some(vec![("token".into(), "fresh".into())]),
            extra_headers: Some(vec![("x-token".into(), "fresh".into())]),
            ..ReconnectUpdate::default()
        };
        let (mut opening, step) = answered(update, &["http://a.test/", "http://b.test/"]);
        let next = opening.on_handshake_failed(refused(), Instant::now());
        for step in [&step, &next] {
            let Step::Handshake { endpoint, .. } = step else {
                panic!("{step:?}")
            };
            let url = endpoint.url(TransportKind::Polling, None);
            assert!(url.query().unwrap_or("").contains("token=fresh"), "{url}");
            assert_eq!(endpoint.headers()["x-token"], "fresh");
        }
    }

    #[test]
    fn the_auth_from_the_hook_goes_with_the_opened_session() {
        let update = ReconnectUpdate {
            auth: Some(Value::from("fresh")),
            ..ReconnectUpdate::default()
        };
        let (mut opening, _) = answered(update, &["http://a.test/"]);
        let reached = opening.opened().expect("opened");
        assert_eq!(reached.auth, Some(Value::from("fresh")));
        assert_eq!(reached.endpoint.server_url().as_str(), "http://a.test/");
    }

    #[test]
    fn a_hook_url_that_is_not_a_url_fails_the_attempt() {
        let update = ReconnectUpdate {
            url: Some("not a url".into()),
            ..ReconnectUpdate::default()
        };
        let (_, step) = answered(update, &["http://a.test/"]);
        assert!(matches!(failed(step), ConnectError::InvalidUrl(_)));
    }

    #[test]
    fn a_hook_header_that_cannot_be_sent_fails_the_attempt() {
        let update = ReconnectUpdate {
            extra_headers: Some(vec![("bad header".into(), "x".into())]),
            ..ReconnectUpdate::default()
        };
        let (_, step) = answered(update, &["http://a.test/"]);
        assert!(matches!(failed(step), ConnectError::InvalidOption(_)));
    }

    #[test]
    fn a_hook_that_does_not_answer_in_time_fails_the_attempt() {
        let options = options(with_hook);
        let now = Instant::now();
        let (mut opening, _) = attempt(&options, 1, &["http://a.test/"], now);
        assert_eq!(opening.next_deadline(), now + 5 * SECOND);
        assert!(matches!(opening.on_timer(now + 4 * SECOND), Step::Wait));
        let error = failed(opening.on_timer(now + 5 * SECOND));
        assert!(
            matches!(error, ConnectError::Timeout(t) if t == 5 * SECOND),
            "{error:?}"
        );
        let late = ReconnectUpdate::default();
        assert!(
            matches!(opening.on_hook(late, now), Step::Wait),
            "the attempt is over"
        );
    }
}

mod failover {
    use super::*;

    #[test]
    fn servers_are_tried_in_order_and_the_last_error_is_reported() {
        let options = options(|_| {});
        let now = Instant::now();
        let urls = ["http://a.test/", "http://b.test/", "http://c.test/"];
        let (mut opening, step) = attempt(&options, 0, &urls, now);
        assert_eq!(handshake(&step).0, urls[0]);
        let step = opening.on_handshake_failed(refused(), now);
        assert_eq!(handshake(&step).0, urls[1]);
        let http = TransportError::Http {
            status: 502,
            message: "bad gateway".into(),
        };
        let step = opening.on_handshake_failed(http, now);
        assert_eq!(handshake(&step).0, urls[2]);
        let tls = TransportError::Tls("unknown issuer".into());
        let error = failed(opening.on_handshake_failed(tls, now));
        assert!(
            matches!(error, ConnectError::Transport(TransportError::Tls(_))),
            "{error:?}"
        );
    }

    #[test]
    fn the_server_that_opened_is_the_one_reached() {
        let options = options(|_| {});
        let now = Instant::now();
        let (mut opening, _) = attempt(&options, 0, &["http://a.test/", "http://b.test/"], now);
        opening.on_handshake_failed(refused(), now);
        let reached = opening.opened().expect("opened");
        assert_eq!(reached.endpoint.server_url().as_str(), "http://b.test/");
        assert_eq!(reached.endpoints.len(), 2);
        assert!(reached.auth.is_none());
        assert!(opening.opened().is_none(), "the attempt is over");
    }

    #[test]
    fn every_transport_failure_moves_on_to_the_next_server_with_its_type_kept() {
        let proxy = crate::error::ProxyError::Unreachable {
            proxy: "http://proxy.test:3128".into(),
            reason: "refused".into(),
        };
        let failures = [
            refused(),
            TransportError::Http {
                status: 400,
                message: "Session ID unknown".into(),
            },
            TransportError::WebSocket("handshake refused".into()),
            TransportError::Tls("bad certificate".into()),
            TransportError::PinMismatch { seen: Vec::new() },
            TransportError::Handshake("no sid".into()),
            TransportError::Proxy(proxy),
            TransportError::NewerProtocol("unsupported version".into()),
            TransportError::TooLarge { size: 2, limit: 1 },
        ];
        for failure in failures {
            let options = options(|_| {});
            let now = Instant::now();
            let (mut opening, _) = attempt(&options, 0, &["http://a.test/", "http://b.test/"], now);
            let kind = std::mem::discriminant(&failure);
            let step = opening.on_handshake_failed(failure.clone(), now);
            assert_eq!(handshake(&step).0, "http://b.test/", "{failure}");
            let error = failed(opening.on_handshake_failed(failure, now));
            let ConnectError::Transport(error) = error else {
                panic!("{error:?}")
            };
            assert_eq!(std::mem::discriminant(&error), kind, "{error}");
        }
    }

    #[test]
    fn a_server_that_does_not_open_in_time_is_left_for_the_next() {
        let options = options(|_| {});
        let now = Instant::now();
        let (mut opening, _) = attempt(&options, 0, &["http://a.test/", "http://b.test/"], now);
        assert_eq!(opening.next_deadline(), now + 10 * SECOND);
        assert!(matches!(opening.on_timer(now + 9 * SECOND), Step::Wait));
        let later = now + 10 * SECOND;
        let step = opening.on_timer(later);
        assert_eq!(handshake(&step).0, "http://b.test/");
        assert_eq!(opening.next_deadline(), later + 10 * SECOND);
        let error = failed(opening.on_timer(later + 10 * SECOND));
        assert!(
            matches!(error, ConnectError::Timeout(t) if t == 10 * SECOND),
            "{error:?}"
        );
    }

    #[test]
    fn the_whole_attempt_may_take_the_timeout_of_each_server() {
        let options = options(|o| {
            with_hook(o);
            o.reconnect_hook_timeout = 3600 * SECOND;
        });
        let now = Instant::now();
        let (mut opening, step) = attempt(&options, 1, &["http://a.test/", "http://b.test/"], now);
        assert!(matches!(step, Step::RunHook { .. }));
        assert_eq!(opening.next_deadline(), now + 20 * SECOND);
        let error = failed(opening.on_timer(now + 20 * SECOND));
        assert!(
            matches!(error, ConnectError::Timeout(t) if t == 10 * SECOND),
            "{error:?}"
        );
    }

    #[test]
    fn without_a_transport_the_attempt_fails_at_once() {
        let options = options(|o| o.transports = Vec::new());
        let (_, step) = attempt(
            &options,
            0,
            &["http://a.test/", "http://b.test/"],
            Instant::now(),
        );
        assert!(matches!(
            failed(step),
            ConnectError::Transport(TransportError::Handshake(_))
        ));
    }
}

mod transports {
    use super::*;

    fn both(try_all: bool) -> Arc<ManagerOptions> {
        options(|o| {
            o.transports = vec![TransportKind::WebSocket, TransportKind::Polling];
            o.try_all_transports = try_all;
        })
    }

    #[test]
    fn with_try_all_transports_the_next_transport_is_tried_and_the_first_error_kept() {
        let options = both(true);
        let now = Instant::now();
        let (mut opening, step) = attempt(&options, 0, &["http://a.test/"], now);
        assert_eq!(handshake(&step).1, TransportKind::WebSocket);
        let ws = TransportError::WebSocket("refused".into());
        let step = opening.on_handshake_failed(ws, now);
        assert_eq!(handshake(&step).1, TransportKind::Polling);
        let error = failed(opening.on_handshake_failed(refused(), now));
        assert!(
            matches!(error, ConnectError::Transport(TransportError::WebSocket(_))),
            "{error:?}"
        );
    }

    #[test]
    fn without_try_all_transports_only_the_first_is_tried() {
        let options = both(false);
        let now = Instant::now();
        let (mut opening, _) = attempt(&options, 0, &["http://a.test/"], now);
        let ws = TransportError::WebSocket("refused".into());
        failed(opening.on_handshake_failed(ws, now));
    }

    #[test]
    fn each_server_is_tried_over_every_transport_in_turn() {
        let options = both(true);
        let now = Instant::now();
        let (mut opening, _) = attempt(&options, 0, &["http://a.test/", "http://b.test/"], now);
        opening.on_handshake_failed(refused(), now);
        let step = opening.on_handshake_failed(refused(), now);
        assert_eq!(
            handshake(&step),
            (
                "http://b.test/".into(),
                TransportKind::WebSocket,
                EngineVersion::V4
            )
        );
    }
}

mod detection {
    use super::*;

    #[test]
    fn a_socket_io_2_server_is_opened_again_in_v3_over_the_same_transport() {
        let options = options(|_| {});
        let now = Instant::now();
        let (mut opening, _) = attempt(&options, 0, &["http://a.test/", "http://b.test/"], now);
        let step = opening.on_handshake_failed(TransportError::OlderProtocol, now);
        assert_eq!(
            handshake(&step),
            (
                "http://a.test/".into(),
                TransportKind::Polling,
                EngineVersion::V3
            )
        );
        assert_eq!(
            opening.next_deadline(),
            now + 10 * SECOND,
            "the server's timeout runs on"
        );
        assert!(opening.opened().is_some());
    }

    #[test]
    fn the_version_found_is_kept_for_every_later_attempt_and_server() {
        let options = options(|_| {});
        let now = Instant::now();
        let endpoints = servers(&options, &["http://a.test/", "http://b.test/"]);
        let mut first = Opening::new(options.clone(), 0, endpoints.clone(), false, None, now);
        first.start(now);
        first.on_handshake_failed(TransportError::OlderProtocol, now);
        first.opened().expect("opened");
        let mut next = Opening::new(options, 1, endpoints, false, None, now);
        let step = next.start(now);
        assert_eq!(handshake(&step).2, EngineVersion::V3);
        let step = next.on_handshake_failed(refused(), now);
        assert_eq!(
            handshake(&step),
            (
                "http://b.test/".into(),
                TransportKind::Polling,
                EngineVersion::V3
            )
        );
    }

    #[test]
    fn the_version_switches_once_only() {
        let options = options(|_| {});
        let now = Instant::now();
        let (mut opening, _) = attempt(&options, 0, &["http://a.test/"], now);
        opening.on_handshake_failed(TransportError::OlderProtocol, now);
        let error = failed(opening.on_handshake_failed(TransportError::OlderProtocol, now));
        assert!(matches!(
            error,
            ConnectError::Transport(TransportError::OlderProtocol)
        ));
    }

    #[test]
    fn a_fixed_version_is_never_switched() {
        let options = options(|o| o.server_version = ServerVersion::V4);
        let now = Instant::now();
        let (mut opening, _) = attempt(&options, 0, &["http://a.test/"], now);
        let error = failed(opening.on_handshake_failed(TransportError::OlderProtocol, now));
        assert!(matches!(
            error,
            ConnectError::Transport(TransportError::OlderProtocol)
        ));
        let (_, step) = attempt(&options, 0, &["http://a.test/"], now);
        assert_eq!(handshake(&step).2, EngineVersion::V4);
    }
}
