//! The polling → WebSocket upgrade as data: its phases and the steps between them. Pure:
//! the session's machine feeds it and turns what it answers into effects.

use tokio::time::Instant;

/// Where the upgrade stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No upgrade: none offered or wanted, or the session opened over WebSocket.
    Off,
    /// The probe WebSocket is being opened.
    Opening,
    /// `2probe` went out on the probe; `3probe` is awaited.
    Probing,
    /// `3probe` came back: polling winds down (the GET loop stops after the request in
    /// flight, the POST in flight drains). Packets to send wait for the WebSocket.
    Pausing {
        /// Whether the GET loop reported that it stopped.
        get_paused: bool,
    },
    /// Polling is idle: `5` (upgrade) is being written on the probe.
    Upgrading,
    /// The probe is the transport.
    Done,
    /// The upgrade failed at some phase: the session stays on polling.
    Failed,
}

/// The upgrade of one session, with the deadline of its probe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Upgrade {
    phase: Phase,
    /// When the probe gives up if `3probe` has not come (`pingInterval + pingTimeout`
    /// after it started, as the JS client's upgrade timeout).
    deadline: Option<Instant>,
}

impl Upgrade {
    /// No upgrade for this session.
    pub(crate) fn off() -> Self {
        Self {
            phase: Phase::Off,
            deadline: None,
        }
    }

    /// An upgrade whose probe starts opening now and must answer by `deadline`.
    pub(crate) fn start(deadline: Instant) -> Self {
        Self {
            phase: Phase::Opening,
            deadline: Some(deadline),
        }
    }

    /// The phase.
    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// When the probe gives up, while it is under way (opening or probing).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Opening | Phase::Probing => self.deadline,
            _ => None,
        }
    }

    /// Whether the upgrade has started and neither finished nor failed.
    pub(crate) fn is_under_way(&self) -> bool {
        matches!(
            self.phase,
            Phase::Opening | Phase::Probing | Phase::Pausing { .. } | Phase::Upgrading
        )
    }

    /// Whether writes wait for the WebSocket (polling is winding down or the switch is
    /// being made).
    pub(crate) fn holds_writes(&self) -> bool {
        matches!(self.phase, Phase::Pausing { .. } | Phase::Upgrading)
    }

    /// The probe opened: true when `2probe` is to be sent on it (the probe is awaited).
    pub(crate) fn probe_opened(&mut self) -> bool {
        let awaited = self.phase == Phase::Opening;
        if awaited {
            self.phase = Phase::Probing;
        }
        awaited
    }

    /// `3probe` came: true when polling is to be paused (the probe was awaiting it).
    pub(crate) fn probe_answered(&mut self) -> bool {
        let awaited = self.phase == Phase::Probing;
        if awaited {
            self.phase = Phase::Pausing { get_paused: false };
        }
        awaited
    }

    /// The GET loop stopped.
    pub(crate) fn polling_paused(&mut self) {
        if let Phase::Pausing { get_paused } = &mut self.phase {
            *get_paused = true;
        }
    }

    /// Moves to [`Phase::Upgrading`] when polling is idle (GET loop stopped, no POST in
    /// flight); true when it did: `5` is to be written now.
    pub(crate) fn begin_switch(&mut self, post_in_flight: bool) -> bool {
        let ready = self.phase == Phase::Pausing { get_paused: true } && !post_in_flight;
        if ready {
            self.phase = Phase::Upgrading;
        }
        ready
    }

    /// Whether [`Upgrade::begin_switch`] would succeed.
    pub(crate) fn is_ready(&self, post_in_flight: bool) -> bool {
        self.phase == Phase::Pausing { get_paused: true } && !post_in_flight
    }

    /// `5` was written: the probe is the transport.
    pub(crate) fn switched(&mut self) {
        if self.phase == Phase::Upgrading {
            self.phase = Phase::Done;
        }
    }

    /// The probe failed, closed, timed out or answered wrongly: true when an upgrade was
    /// under way (it is now [`Phase::Failed`], and polling resumes).
    pub(crate) fn fail(&mut self) -> bool {
        let under_way = self.is_under_way();
        if under_way {
            self.phase = Phase::Failed;
        }
        under_way
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn paused_upgrade() -> Upgrade {
        let mut upgrade = Upgrade::start(Instant::now() + Duration::from_secs(1));
        assert!(upgrade.probe_opened());
        assert!(upgrade.probe_answered());
        upgrade.polling_paused();
        upgrade
    }

    #[test]
    fn the_phases_follow_each_other_from_opening_to_done() {
        let mut upgrade = Upgrade::start(Instant::now());
        assert_eq!(upgrade.phase(), Phase::Opening);
        assert!(upgrade.probe_opened());
        assert_eq!(upgrade.phase(), Phase::Probing);
        assert!(upgrade.probe_answered());
        assert_eq!(upgrade.phase(), Phase::Pausing { get_paused: false });
        upgrade.polling_paused();
        assert!(upgrade.begin_switch(false));
        assert_eq!(upgrade.phase(), Phase::Upgrading);
        upgrade.switched();
        assert_eq!(upgrade.phase(), Phase::Done);
        assert!(!upgrade.is_under_way());
    }

    #[test]
    fn the_switch_waits_for_the_post_in_flight() {
        let mut upgrade = paused_upgrade();
        assert!(!upgrade.begin_switch(true));
        assert!(upgrade.holds_writes());
        assert!(upgrade.begin_switch(false));
    }

    #[test]
    fn the_deadline_holds_only_while_the_probe_is_under_way() {
        let deadline = Instant::now();
        let mut upgrade = Upgrade::start(deadline);
        assert_eq!(upgrade.deadline(), Some(deadline));
        upgrade.probe_opened();
        assert_eq!(upgrade.deadline(), Some(deadline));
        upgrade.probe_answered();
        assert_eq!(upgrade.deadline(), None);
    }

    #[test]
    fn a_probe_answer_out_of_turn_changes_nothing() {
        let mut upgrade = Upgrade::start(Instant::now());
        assert!(!upgrade.probe_answered());
        assert_eq!(upgrade.phase(), Phase::Opening);
        assert!(!Upgrade::off().probe_answered());
    }

    #[test]
    fn a_failure_after_the_upgrade_or_without_one_is_no_fallback() {
        let mut done = paused_upgrade();
        done.begin_switch(false);
        done.switched();
        assert!(!done.fail());
        assert_eq!(done.phase(), Phase::Done);
        assert!(!Upgrade::off().fail());
    }
}
