//! Readable output of `ferrio connect` in a terminal: one colored line per event, with the
//! local time, e.g. `12:03:04.512 event      /  chat "hello" {"n":1}`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value as Json;

use crate::output::Line;

/// Bytes of a binary value shown in hex before `…`.
const BINARY_PREVIEW: usize = 8;

/// ANSI styles, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Colors when `color` is true.
    pub fn new(color: bool) -> Style {
        Style { color }
    }

    /// Whether stdout should get colors: it is a terminal and `NO_COLOR` is not set.
    pub fn for_stdout() -> Style {
        use std::io::IsTerminal;
        Style::new(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Gray.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
    /// Green.
    pub fn good(self, text: &str) -> String {
        self.paint("32", text)
    }
    /// Red.
    pub fn bad(self, text: &str) -> String {
        self.paint("31", text)
    }
    /// Yellow.
    pub fn warn(self, text: &str) -> String {
        self.paint("33", text)
    }
    /// Cyan.
    pub fn info(self, text: &str) -> String {
        self.paint("36", text)
    }
    /// Bold.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// `line` as readable text stamped with `time`, without the newline.
pub fn render(line: &Line, time: &str, style: Style) -> String {
    let label = |text: &str, paint: fn(Style, &str) -> String| paint(style, &format!("{text:<11}"));
    let body = match line {
        Line::Connect { namespace, sid } => format!(
            "{}{namespace}  {}",
            label("connected", Style::good),
            style.dim(&format!("sid {sid}"))
        ),
        Line::Event {
            namespace,
            event,
            args,
            ack,
        } => format!(
            "{}{namespace}  {}{}{}",
            label("event", Style::info),
            style.bold(event),
            args_text(args),
            ack.map_or(String::new(), |id| style.dim(&format!("  (ack {id})")))
        ),
        Line::Ack {
            namespace,
            event,
            args,
        } => format!(
            "{}{namespace}  {} {}{}",
            label("ack", Style::good),
            style.bold(event),
            style.dim("->"),
            args_text(args)
        ),
        Line::AckError {
            namespace,
            event,
            error,
        } => format!(
            "{}{namespace}  {}: {error}",
            label("ack error", Style::bad),
            style.bold(event)
        ),
        Line::ConnectError {
            namespace,
            message,
            data,
        } => {
            let data = match data {
                Json::Null => String::new(),
                data => format!("  data {}", value_text(data)),
            };
            format!(
                "{}{namespace}  {message}{data}",
                label("refused", Style::bad)
            )
        }
        Line::Disconnect { namespace, reason } => {
            format!("{}{namespace}  {reason}", label("disconnect", Style::warn))
        }
        Line::Lagged { namespace, dropped } => format!(
            "{}{namespace}  {dropped} events dropped (output too slow)",
            label("lagged", Style::warn)
        ),
        Line::ReconnectAttempt { attempt } => {
            format!("{}attempt {attempt}", label("reconnect", Style::warn))
        }
        Line::Reconnect { attempt } => format!(
            "{}after {attempt} attempt{}",
            label("reconnected", Style::good),
            if *attempt == 1 { "" } else { "s" }
        ),
        Line::ReconnectError { message } => {
            format!("{}{message}", label("retry fail", Style::warn))
        }
        Line::ReconnectFailed => format!("{}gave up reconnecting", label("lost", Style::bad)),
        Line::Error { message } => format!("{}{message}", label("error", Style::bad)),
        Line::Stats(stats) => format!(
            "{}{} in / {} out bytes, {} / {} packets, {} reconnects ({} attempts), {}, ack p50 {} µs p99 {} µs ({} acks)",
            label("stats", Style::info),
            stats.bytes_in,
            stats.bytes_out,
            stats.packets_in,
            stats.packets_out,
            stats.reconnects,
            stats.reconnect_attempts,
            stats.transport.unwrap_or("not connected"),
            stats.ack_rtt_us.p50,
            stats.ack_rtt_us.p99,
            stats.ack_rtt_us.count,
        ),
    };
    format!("{} {body}", style.dim(time))
}

/// Arguments after an event name: ` 1 "two" {"three":3}`, binary as `<3 bytes 01 02 03>`.
fn args_text(args: &[Json]) -> String {
    args.iter()
        .map(|arg| format!(" {}", value_text(arg)))
        .collect()
}

/// A value as compact JSON, with `{"$binary":...}` shown as its bytes.
pub fn value_text(value: &Json) -> String {
    match value {
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", items.join(","))
        }
        Json::Object(object) => {
            if let (1, Some(Json::String(encoded))) = (object.len(), object.get("$binary")) {
                if let Ok(bytes) = STANDARD.decode(encoded) {
                    return binary_text(&bytes);
                }
            }
            let fields: Vec<String> = object
                .iter()
                .map(|(key, value)| format!("{}:{}", Json::from(key.as_str()), value_text(value)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        scalar => scalar.to_string(),
    }
}

/// `<3 bytes 01 02 03>`, the first bytes only when there are many.
pub fn binary_text(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes
        .iter()
        .take(BINARY_PREVIEW)
        .map(|b| format!("{b:02x}"))
        .collect();
    let more = if bytes.len() > BINARY_PREVIEW {
        " …"
    } else {
        ""
    };
    let unit = if bytes.len() == 1 { "byte" } else { "bytes" };
    if bytes.is_empty() {
        return "<0 bytes>".to_owned();
    }
    format!("<{} {unit} {}{more}>", bytes.len(), shown.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PLAIN: Style = Style { color: false };

    #[test]
    fn an_event_shows_time_namespace_name_and_arguments() {
        let line = Line::Event {
            namespace: "/".into(),
            event: "chat".into(),
            args: vec![json!("hello"), json!({"n": 1})],
            ack: None,
        };
        assert_eq!(
            render(&line, "12:00:00.000", PLAIN),
            r#"12:00:00.000 event      /  chat "hello" {"n":1}"#
        );
    }

    #[test]
    fn an_event_the_server_wants_acknowledged_shows_its_ack_id() {
        let line = Line::Event {
            namespace: "/".into(),
            event: "question".into(),
            args: vec![json!(1)],
            ack: Some(3),
        };
        assert_eq!(
            render(&line, "12:00:00.000", PLAIN),
            "12:00:00.000 event      /  question 1  (ack 3)"
        );
    }

    #[test]
    fn binary_shows_its_size_and_first_bytes() {
        assert_eq!(
            value_text(&json!([{"$binary": "AQID"}])),
            "[<3 bytes 01 02 03>]"
        );
        assert_eq!(
            binary_text(&[0; 10]),
            "<10 bytes 00 00 00 00 00 00 00 00 …>"
        );
        assert_eq!(binary_text(&[7]), "<1 byte 07>");
        assert_eq!(binary_text(&[]), "<0 bytes>");
    }

    #[test]
    fn objects_that_only_look_binary_stay_objects() {
        assert_eq!(
            value_text(&json!({"$binary": "AA==", "x": 1})),
            r#"{"$binary":"AA==","x":1}"#
        );
    }

    #[test]
    fn a_refusal_shows_the_message_and_the_data() {
        let line = Line::ConnectError {
            namespace: "/admin".into(),
            message: "unauthorized".into(),
            data: json!({"code": 7}),
        };
        let text = render(&line, "t", PLAIN);
        assert!(text.contains("refused"), "{text}");
        assert!(text.contains(r#"unauthorized  data {"code":7}"#), "{text}");
    }

    #[test]
    fn colors_wrap_the_label_and_reset() {
        let line = Line::Disconnect {
            namespace: "/".into(),
            reason: "transport close",
        };
        let text = render(&line, "t", Style::new(true));
        assert!(text.contains("\x1b[33mdisconnect"), "{text:?}");
        assert!(text.contains("\x1b[0m"), "{text:?}");
        assert!(!render(&line, "t", PLAIN).contains('\x1b'));
    }

    #[test]
    fn every_line_kind_renders_on_one_line() {
        let lines = [
            Line::Connect {
                namespace: "/".into(),
                sid: "s".into(),
            },
            Line::Ack {
                namespace: "/".into(),
                event: "e".into(),
                args: vec![json!(1)],
            },
            Line::AckError {
                namespace: "/".into(),
                event: "e".into(),
                error: "timeout",
            },
            Line::Lagged {
                namespace: "/".into(),
                dropped: 2,
            },
            Line::ReconnectAttempt { attempt: 1 },
            Line::Reconnect { attempt: 2 },
            Line::ReconnectError {
                message: "m".into(),
            },
            Line::ReconnectFailed,
            Line::Error {
                message: "bad".into(),
            },
            Line::Stats(ferrio::ConnectionStats::default().into()),
        ];
        for line in lines {
            let text = render(&line, "t", PLAIN);
            assert!(!text.contains('\n'), "{text}");
            assert!(text.starts_with("t "), "{text}");
        }
    }
}
