//! The packets waiting to be written, in order, and how they are cut into polling
//! payloads under the server's `maxPayload`. Pure.

use std::collections::VecDeque;

use crate::engineio::payload::fitting_count;
use crate::engineio::EnginePacket;

/// How many packets may wait behind a POST in flight before writing waits for its answer:
/// the bound that makes a slow server slow the emitters down instead of growing memory.
pub(crate) const MAX_WAITING: usize = 1024;

/// The outgoing queue of a session.
#[derive(Debug)]
pub(crate) struct Outgoing {
    queue: VecDeque<EnginePacket>,
    /// The server's `maxPayload`: the largest POST body (`None`: no limit).
    max_payload: Option<u64>,
    /// Whether a POST was handed out and not answered yet.
    post_in_flight: bool,
}

impl Outgoing {
    /// An empty queue for a server accepting bodies of `max_payload` bytes.
    pub(crate) fn new(max_payload: Option<u64>) -> Self {
        Self {
            queue: VecDeque::new(),
            max_payload,
            post_in_flight: false,
        }
    }

    /// Queues `packet` behind the others.
    pub(crate) fn push(&mut self, packet: EnginePacket) {
        self.queue.push_back(packet);
    }

    /// The next packet, for a transport that takes one at a time (WebSocket).
    pub(crate) fn pop(&mut self) -> Option<EnginePacket> {
        self.queue.pop_front()
    }

    /// Whether no packet waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether a POST is in flight.
    pub(crate) fn post_in_flight(&self) -> bool {
        self.post_in_flight
    }

    /// Whether [`Outgoing::next_post`] would give a body.
    pub(crate) fn can_post(&self) -> bool {
        !self.post_in_flight && !self.queue.is_empty()
    }

    /// The packets of the next POST body, from the front, as many as fit `maxPayload`
    /// under the JS client's count (a single packet larger than it goes alone, and the
    /// server answers 413 as it does to the JS client); none while a POST is in flight.
    pub(crate) fn next_post(&mut self) -> Option<Vec<EnginePacket>> {
        if !self.can_post() {
            return None;
        }
        let count = fitting_count(self.queue.make_contiguous(), self.max_payload);
        self.post_in_flight = true;
        Some(self.queue.drain(..count).collect())
    }

    /// The POST in flight was answered.
    pub(crate) fn posted(&mut self) {
        self.post_in_flight = false;
    }

    /// Whether writing must wait for the POST in flight: [`MAX_WAITING`] packets queue
    /// behind it.
    pub(crate) fn is_backlogged(&self) -> bool {
        self.post_in_flight && self.queue.len() >= MAX_WAITING
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::payload::encode_payload;

    fn message(len: usize) -> EnginePacket {
        EnginePacket::Message("m".repeat(len))
    }

    /// Bytes of a POST body holding `packets`.
    fn body_len(packets: &[EnginePacket]) -> usize {
        let mut body = String::new();
        encode_payload(packets, None, &mut body);
        body.len()
    }

    #[test]
    fn a_post_body_never_exceeds_max_payload() {
        let max = 1000;
        let mut outgoing = Outgoing::new(Some(max));
        for len in [10, 300, 1, 450, 200, 90, 700, 5, 5, 5, 333] {
            outgoing.push(message(len));
        }
        let mut posted = 0;
        while let Some(batch) = outgoing.next_post() {
            assert!(body_len(&batch) as u64 <= max, "{} bytes", body_len(&batch));
            posted += batch.len();
            outgoing.posted();
        }
        assert_eq!(posted, 11);
    }

    #[test]
    fn packets_that_fit_together_go_in_one_post() {
        let mut outgoing = Outgoing::new(Some(1_000_000));
        for _ in 0..100 {
            outgoing.push(message(10));
        }
        assert_eq!(outgoing.next_post().expect("a body").len(), 100);
        assert!(outgoing.is_empty());
    }

    #[test]
    fn a_packet_larger_than_max_payload_goes_alone_in_its_own_post() {
        let mut outgoing = Outgoing::new(Some(100));
        outgoing.push(message(10));
        outgoing.push(message(500));
        outgoing.push(message(10));
        let first = outgoing.next_post().expect("a body");
        assert_eq!(first, vec![message(10)]);
        outgoing.posted();
        let second = outgoing.next_post().expect("a body");
        assert_eq!(second, vec![message(500)]);
        outgoing.posted();
        assert_eq!(outgoing.next_post().expect("a body"), vec![message(10)]);
    }

    #[test]
    fn without_max_payload_everything_queued_goes_in_one_post() {
        let mut outgoing = Outgoing::new(None);
        for len in [1, 100_000, 3] {
            outgoing.push(message(len));
        }
        assert_eq!(outgoing.next_post().expect("a body").len(), 3);
    }

    #[test]
    fn one_post_at_a_time_and_the_rest_waits_in_order() {
        let mut outgoing = Outgoing::new(Some(12));
        outgoing.push(EnginePacket::Message("first".into()));
        let first = outgoing.next_post().expect("a body");
        outgoing.push(EnginePacket::Message("second".into()));
        outgoing.push(EnginePacket::Message("third".into()));
        assert!(outgoing.next_post().is_none(), "a POST is in flight");
        assert_eq!(first, vec![EnginePacket::Message("first".into())]);
        outgoing.posted();
        assert_eq!(
            outgoing.next_post().expect("a body"),
            vec![EnginePacket::Message("second".into())]
        );
        outgoing.posted();
        assert_eq!(
            outgoing.next_post().expect("a body"),
            vec![EnginePacket::Message("third".into())]
        );
    }

    #[test]
    fn writing_waits_once_max_waiting_packets_queue_behind_a_post() {
        let mut outgoing = Outgoing::new(None);
        outgoing.push(message(1));
        outgoing.next_post().expect("a body");
        for _ in 0..MAX_WAITING - 1 {
            outgoing.push(message(1));
        }
        assert!(!outgoing.is_backlogged());
        outgoing.push(message(1));
        assert!(outgoing.is_backlogged());
        outgoing.posted();
        assert!(!outgoing.is_backlogged(), "nothing in flight to wait for");
    }
}
