//! The `ferrio connect` input lines (cli/src/input.rs and cli/src/shortform.rs, compiled in
//! from the CLI's sources): each line of the input through the JSON command parser and
//! through the interactive short-form parser. Checked: no panic, and a blank line is no
//! command.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../cli/src/input.rs"]
mod input;
#[allow(dead_code)]
#[path = "../../cli/src/json.rs"]
mod json;
#[allow(dead_code)]
#[path = "../../cli/src/shortform.rs"]
mod shortform;

fuzz_target!(|data: &[u8]| {
    // The CLI reads stdin line by line and rejects a line that is not UTF-8 before parsing.
    for line in data.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let blank = line.trim().is_empty();
        let command = input::parse_line(line);
        if blank {
            assert_eq!(command, Ok(None));
        }
        let interactive = shortform::parse_interactive(line);
        if blank {
            assert_eq!(interactive, Ok(None));
        }
    }
});
