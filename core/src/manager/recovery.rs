//! Connection state recovery of one namespace: the private session id the server gave, the
//! offset of the last event received, and the CONNECT payload asking for them back.
//! Plain data, no I/O.

use crate::socketio::Payload;
use crate::value::{Map, Value};

/// What a namespace needs to ask the server to restore its session.
#[derive(Debug, Default)]
pub(crate) struct Recovery {
    /// The private session id of the last CONNECT reply.
    pid: Option<String>,
    /// The offset of the last event received with a `pid`.
    offset: Option<String>,
    /// The `pid` sent in the pending CONNECT, to tell whether the session was recovered.
    sent_pid: Option<String>,
}

impl Recovery {
    /// The CONNECT payload: `auth`, preceded by `pid` and `offset` when a session can be
    /// recovered (JS: `Object.assign({pid, offset}, auth)`). Remembers the `pid` it sends.
    pub(crate) fn connect_payload(&mut self, auth: Option<&Value>) -> Option<Value> {
        self.sent_pid = self.pid.clone();
        let Some(pid) = &self.pid else {
            return auth.cloned();
        };
        let mut payload = Map::new();
        payload.insert("pid".into(), Value::String(pid.clone()));
        if let Some(offset) = &self.offset {
            payload.insert("offset".into(), Value::String(offset.clone()));
        }
        if let Some(Value::Object(auth)) = auth {
            payload.extend(auth.clone());
        }
        Some(Value::Object(payload))
    }

    /// The server answered the CONNECT with `pid`: returns whether it restored the session
    /// (it gave back the `pid` sent). A session not restored starts with no offset.
    pub(crate) fn connected(&mut self, pid: Option<String>) -> bool {
        let recovered = self.sent_pid.is_some() && self.sent_pid == pid;
        if !recovered {
            self.offset = None;
        }
        self.pid = pid;
        recovered
    }

    /// Takes the offset off an event's arguments: with a `pid`, the server appends it as a
    /// last string argument to events that ask for no ack.
    pub(crate) fn take_offset(&mut self, ack_id: Option<u64>, args: &mut Payload) {
        if self.pid.is_none() || ack_id.is_some() {
            return;
        }
        if let Some(offset) = args.take_last_string() {
            self.offset = Some(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_auth() -> Value {
        let mut auth = Map::new();
        auth.insert("token".into(), Value::from("t"));
        Value::Object(auth)
    }

    #[test]
    fn the_first_connect_payload_is_the_auth_alone() {
        let mut recovery = Recovery::default();
        let auth = token_auth();
        assert_eq!(recovery.connect_payload(Some(&auth)), Some(auth));
        assert_eq!(recovery.connect_payload(None), None);
    }

    #[test]
    fn connect_payload_carries_pid_and_offset_beside_the_auth() {
        let mut recovery = Recovery::default();
        recovery.connect_payload(None);
        recovery.connected(Some("p".into()));
        let mut args = Payload::from_values(&[Value::from(1), Value::from("o")]);
        recovery.take_offset(None, &mut args);
        let payload = recovery
            .connect_payload(Some(&token_auth()))
            .expect("payload");
        let Value::Object(payload) = payload else {
            panic!("an object");
        };
        assert_eq!(payload.get("pid"), Some(&Value::from("p")));
        assert_eq!(payload.get("offset"), Some(&Value::from("o")));
        assert_eq!(payload.get("token"), Some(&Value::from("t")));
    }

    #[test]
    fn a_reply_with_the_pid_sent_is_a_recovery_and_keeps_the_offset() {
        let mut recovery = Recovery::default();
        recovery.connect_payload(None);
        assert!(!recovery.connected(Some("p".into())), "nothing was sent");
        let mut args = Payload::from_values(&[Value::from("o1")]);
        recovery.take_offset(None, &mut args);
        recovery.connect_payload(None);
        assert!(recovery.connected(Some("p".into())));
        assert_eq!(recovery.offset.as_deref(), Some("o1"));
    }

    #[test]
    fn a_reply_with_another_pid_is_a_new_session_without_offset() {
        let mut recovery = Recovery::default();
        recovery.connect_payload(None);
        recovery.connected(Some("p1".into()));
        let mut args = Payload::from_values(&[Value::from("o1")]);
        recovery.take_offset(None, &mut args);
        recovery.connect_payload(None);
        assert!(!recovery.connected(Some("p2".into())));
        assert_eq!(recovery.offset, None);
        assert_eq!(recovery.pid.as_deref(), Some("p2"));
    }

    #[test]
    fn offset_is_taken_only_from_events_without_ack_once_a_pid_is_known() {
        let mut recovery = Recovery::default();
        let mut args = Payload::from_values(&[Value::from(1), Value::from("off1")]);
        recovery.take_offset(None, &mut args);
        assert_eq!(args.values().len(), 2, "no pid: nothing is taken");
        recovery.connected(Some("p".into()));
        recovery.take_offset(Some(4), &mut args);
        assert_eq!(
            args.values().len(),
            2,
            "events asking for an ack carry no offset"
        );
        recovery.take_offset(None, &mut args);
        assert_eq!(args.values(), [Value::from(1)]);
        assert_eq!(recovery.offset.as_deref(), Some("off1"));
    }
}
