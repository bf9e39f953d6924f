//! Which Engine.IO protocol a session speaks (v4, or v3 for Socket.IO 2.x servers), and
//! the manager's choice of it: fixed by [`ServerVersion`], or found out once and kept.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::engineio::payload::Framing;
use crate::options::ServerVersion;

/// An Engine.IO protocol revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EngineVersion {
    /// Engine.IO v3 (Socket.IO 2.x servers, Socket.IO protocol v4).
    V3,
    /// Engine.IO v4 (Socket.IO 3.x and 4.x servers, Socket.IO protocol v5).
    V4,
}

impl EngineVersion {
    /// The `EIO` query parameter.
    pub(crate) fn eio(self) -> &'static str {
        match self {
            Self::V3 => "3",
            Self::V4 => "4",
        }
    }

    /// The polling payload codec of the version.
    pub(crate) fn framing(self) -> Framing {
        match self {
            Self::V3 => Framing::LengthPrefixed,
            Self::V4 => Framing::Separated,
        }
    }
}

/// The manager's server version: the setting, and whether detection found a Socket.IO 2.x
/// server. Shared by the manager's endpoints, so what one connection found holds for every
/// later one.
#[derive(Debug)]
pub(crate) struct VersionChoice {
    setting: ServerVersion,
    found_older: AtomicBool,
}

impl VersionChoice {
    /// The choice `setting` makes; nothing found yet.
    pub(crate) fn new(setting: ServerVersion) -> Self {
        Self {
            setting,
            found_older: AtomicBool::new(false),
        }
    }

    /// The protocol the next session speaks.
    pub(crate) fn current(&self) -> EngineVersion {
        match self.setting {
            ServerVersion::V2 => EngineVersion::V3,
            ServerVersion::V4 => EngineVersion::V4,
            ServerVersion::Detect if self.found_older.load(Ordering::Relaxed) => EngineVersion::V3,
            ServerVersion::Detect => EngineVersion::V4,
        }
    }

    /// The server answered as a Socket.IO 2.x server: returns whether the client switches
    /// to Engine.IO v3 (detecting, and not switched yet); false when the version is fixed.
    pub(crate) fn found_older_server(&self) -> bool {
        self.setting == ServerVersion::Detect && !self.found_older.swap(true, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_switches_once_and_a_fixed_version_never() {
        let detect = VersionChoice::new(ServerVersion::Detect);
        assert_eq!(detect.current(), EngineVersion::V4);
        assert!(detect.found_older_server());
        assert_eq!(detect.current(), EngineVersion::V3);
        assert!(!detect.found_older_server(), "already switched");
        let v4 = VersionChoice::new(ServerVersion::V4);
        assert!(!v4.found_older_server());
        assert_eq!(v4.current(), EngineVersion::V4);
        let v2 = VersionChoice::new(ServerVersion::V2);
        assert_eq!(v2.current(), EngineVersion::V3);
        assert!(!v2.found_older_server());
    }
}
