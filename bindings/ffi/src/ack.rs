//! Acknowledgements both ways: `AckRequest` answers the server, `AckRecord` is its answer.

use crate::error::AckReplyError;
use crate::json;
use crate::runtime::guard;

/// The server's request for an acknowledgement of one event; answer it once with `send`.
///
/// When every copy of the event is gone unanswered (this object destroyed, the other
/// receivers done), the core answers with no values: bindings need no rule of their own.
#[derive(Debug, uniffi::Object)]
pub struct AckRequest {
    event: ferrio::Event,
}

impl AckRequest {
    /// Keeps the event (its payload already taken out) for its responder.
    pub(crate) fn new(event: ferrio::Event) -> Self {
        AckRequest { event }
    }
}

#[uniffi::export]
impl AckRequest {
    /// Answers with the arguments `args_json` (JSON text of an array, binary nodes as
    /// placeholders into `attachments`). Never blocks.
    ///
    /// # Errors
    /// [`AckReplyError::AlreadySent`] the second time; [`AckReplyError::InvalidArgs`] for
    /// text that is not a JSON array or a placeholder without its attachment.
    pub fn send(&self, args_json: String, attachments: Vec<Vec<u8>>) -> Result<(), AckReplyError> {
        guard(|| {
            let args = json::args_from_json(&args_json, attachments)?;
            Ok(self.event.ack_values(args)?)
        })
    }
}

/// The server's answer to an emit with acknowledgement.
#[derive(Debug, uniffi::Record)]
pub struct AckRecord {
    /// The values the server passed to its callback: JSON text of an array.
    pub args_json: String,
    /// The bytes of the placeholders in `args_json`, by number.
    pub attachments: Vec<Vec<u8>>,
}

impl From<ferrio::Ack> for AckRecord {
    /// The reply as it arrived: the server's text and its attachments.
    fn from(ack: ferrio::Ack) -> Self {
        let (args_json, attachments) = ack.into_payload().into_parts();
        AckRecord {
            args_json,
            attachments: attachments.into_iter().map(Vec::from).collect(),
        }
    }
}
