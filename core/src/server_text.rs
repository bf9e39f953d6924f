//! Text from the server, bounded before an error carries it. At the bottom of the core, so
//! that the codecs' errors can use it too.

/// The most bytes of the server's text that an error message keeps.
pub(crate) const MAX_SERVER_TEXT: usize = 1024;

/// Bounds text from the server before an error carries it: past [`MAX_SERVER_TEXT`] bytes
/// it is cut at a character boundary and ends with `…` and its original length. Every error
/// that echoes the server's data (HTTP bodies, refused CONNECT messages, unexpected packets,
/// JSON errors quoting the input, URLs holding the session id) goes through here, so a
/// hostile server cannot turn an error into megabytes of log line or exception text.
pub(crate) fn server_text(text: impl Into<String>) -> String {
    let mut text = text.into();
    let len = text.len();
    if len <= MAX_SERVER_TEXT {
        return text;
    }
    let mut cut = MAX_SERVER_TEXT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(&format!("… ({len} bytes)"));
    text.shrink_to_fit();
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_server_text_is_kept_as_it_is() {
        let text = "x".repeat(MAX_SERVER_TEXT);
        assert_eq!(server_text(text.clone()), text);
    }

    #[test]
    fn long_server_text_is_cut_with_an_ellipsis_and_its_length() {
        let bounded = server_text("s".repeat(10 << 20));
        assert_eq!(
            bounded,
            format!("{}… ({} bytes)", "s".repeat(MAX_SERVER_TEXT), 10 << 20)
        );
    }

    #[test]
    fn server_text_is_cut_at_a_character_boundary() {
        // `é` is two bytes: byte 1024 falls inside one when the text starts with `a`.
        let text = format!("a{}", "é".repeat(1000));
        let bounded = server_text(text);
        assert!(
            bounded.starts_with(&format!("a{}…", "é".repeat(511))),
            "{bounded}"
        );
        assert!(bounded.ends_with("… (2001 bytes)"), "{bounded}");
    }
}
