//! ICE-lite, controlled role (RFC 8445 §2.5), with the observable behaviour of mediasoup's
//! `IceServer`: states, tuple bookkeeping, consent timeout and ICE restart.
//!
//! Sans-IO: [`IceLite`] never reads a clock or touches a socket. Time is `now_ms`, a monotonic
//! millisecond counter the caller owns. Contract: after every `handle_*` call or mutator, send
//! any `Respond` bytes back to the address the check came from, drain [`IceLite::poll_event`]
//! and re-arm the timer from [`IceLite::poll_timeout`].
//!
//! States, as mediasoup reports them in `iceState`:
//! - `new`: nothing valid yet.
//! - `connected`: a valid Binding request without nomination arrived; its address is selected.
//! - `completed`: a valid request carried USE-CANDIDATE (or a higher NOMINATION); its address is
//!   selected. Chrome (regular nomination) goes new → connected → completed; an aggressive
//!   client goes new → completed directly. Later nominations from another address switch the
//!   selected tuple without a state change.
//! - `disconnected`: no valid request for `consent_timeout_ms` (RFC 7675 consent); every tuple is
//!   forgotten. The next valid request reconnects.
//! - `closed`: [`IceLite::close`] was called; mediasoup never emits this as an event.
//!
//! ICE restart keeps mediasoup's grace rule: after [`IceLite::restart`] the previous credentials
//! stay valid until the peer authenticates with the new ones once, so consent checks keep
//! succeeding while the new parameters travel through signaling.

use std::collections::VecDeque;
use std::net::SocketAddr;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::stun;

pub use super::stun::username_fragment_of;

/// mediasoup keeps at most this many valid tuples; the oldest non-selected one goes first.
const MAX_TUPLES: usize = 8;
const UFRAG_LEN: usize = 16;
const PASSWORD_LEN: usize = 32;
const CREDENTIAL_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ROLE_CONFLICT: u16 = 487;

/// Local ICE parameters as sent to the remote (mediasoup's `iceParameters`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IceParameters {
    /// ICE username fragment.
    pub username_fragment: String,
    /// ICE password.
    pub password: String,
    /// Always true: this agent is ICE-lite.
    pub ice_lite: bool,
}

/// ICE state of a transport (mediasoup's `iceState`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IceState {
    /// No valid Binding request yet.
    New,
    /// A valid, not nominated Binding request selected a tuple.
    Connected,
    /// A nominated tuple is selected.
    Completed,
    /// Consent expired (or the last tuple was removed); no tuple is valid.
    Disconnected,
    /// Closed by the owner.
    Closed,
}

/// Something the owner of an [`IceLite`] must learn about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IceEvent {
    /// The state changed (never emitted for `Closed`).
    StateChange(IceState),
    /// Media and DTLS must now be sent to this remote address.
    SelectedTupleChange(SocketAddr),
    /// This remote address passed a valid check: accept media from it.
    TupleAdded(SocketAddr),
    /// This remote address is no longer valid (evicted, consent expired, removed or closed).
    TupleRemoved(SocketAddr),
    /// This local ufrag is no longer answered (old ufrag after a restart, or all on close):
    /// a shared-port server drops its demultiplexing entry.
    UsernameFragmentRetired(String),
}

/// What to do with a datagram passed to [`IceLite::handle_stun`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StunOutcome {
    /// Send these bytes back to the address the datagram came from.
    Respond(Vec<u8>),
    /// Discard it; counted in [`IceStats`].
    Drop(DropReason),
    /// First byte outside STUN's range (RFC 7983): DTLS, RTP or RTCP; not counted.
    NotStun,
}

/// Why a STUN datagram was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Not a well-formed STUN message (truncated, bad length, bad attribute, no cookie …).
    Malformed,
    /// FINGERPRINT present but wrong.
    BadFingerprint,
    /// A response, an indication, or a method other than Binding.
    NotBindingRequest,
    /// A Binding request without USERNAME, MESSAGE-INTEGRITY or PRIORITY.
    MissingAttribute,
    /// USERNAME does not start with a local ufrag followed by ':'.
    UnknownUsername,
    /// MESSAGE-INTEGRITY does not verify with the local password.
    BadIntegrity,
    /// The agent is closed.
    Closed,
    /// The response could not be built (no crypto provider compiled into rtc-stun).
    Internal,
}

/// Counters of everything [`IceLite::handle_stun`] saw.
#[derive(Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IceStats {
    /// Valid Binding requests answered with a success response.
    pub requests_ok: u64,
    /// Valid requests that claimed ICE-CONTROLLED, answered with 487 Role Conflict.
    pub role_conflicts: u64,
    /// Dropped: not well-formed STUN.
    pub dropped_malformed: u64,
    /// Dropped: FINGERPRINT mismatch.
    pub dropped_bad_fingerprint: u64,
    /// Dropped: not a Binding request.
    pub dropped_not_binding_request: u64,
    /// Dropped: a required attribute was missing.
    pub dropped_missing_attribute: u64,
    /// Dropped: USERNAME not addressed to a local ufrag.
    pub dropped_unknown_user: u64,
    /// Dropped: MESSAGE-INTEGRITY did not verify.
    pub dropped_bad_integrity: u64,
    /// Dropped: arrived after close.
    pub dropped_closed: u64,
    /// Dropped: the response could not be built.
    pub dropped_internal: u64,
    /// Times consent expired (transitions to `disconnected`).
    pub consent_expirations: u64,
    /// Times the selected tuple changed (including the first selection).
    pub selected_tuple_changes: u64,
}

impl IceStats {
    /// Sum of every `dropped_*` counter.
    pub fn dropped(&self) -> u64 {
        self.dropped_malformed
            + self.dropped_bad_fingerprint
            + self.dropped_not_binding_request
            + self.dropped_missing_attribute
            + self.dropped_unknown_user
            + self.dropped_bad_integrity
            + self.dropped_closed
            + self.dropped_internal
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Credentials {
    ufrag: String,
    password: String,
}

impl Credentials {
    fn random() -> Self {
        Credentials {
            ufrag: random_string(UFRAG_LEN),
            password: random_string(PASSWORD_LEN),
        }
    }
}

fn random_string(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(CREDENTIAL_ALPHABET[rng.gen_range(0..CREDENTIAL_ALPHABET.len())]))
        .collect()
}

/// The ICE-lite agent of one WebRtcTransport.
#[derive(Debug)]
pub struct IceLite {
    credentials: Credentials,
    /// Credentials before the last restart, honoured until the peer uses the new ones.
    previous: Option<Credentials>,
    consent_timeout_ms: u64,
    state: IceState,
    /// Valid remote addresses, newest first.
    tuples: Vec<SocketAddr>,
    selected: Option<SocketAddr>,
    remote_nomination: u32,
    consent_deadline: Option<u64>,
    /// A restart asked for a fresh consent period; applied at the next `handle_timeout`.
    consent_restart_pending: bool,
    last_now_ms: u64,
    events: VecDeque<IceEvent>,
    stats: IceStats,
}

#[allow(dead_code)] // part of the sans-IO API; some getters serve only tests and WebRtcServer
impl IceLite {
    /// Agent with random credentials; `consent_timeout_ms == 0` disables the consent check.
    pub fn new(consent_timeout_ms: u64) -> Self {
        Self::with_credentials(Credentials::random(), consent_timeout_ms)
    }

    /// Agent with given credentials (deterministic tests and harnesses).
    pub fn with_parameters(
        username_fragment: &str,
        password: &str,
        consent_timeout_ms: u64,
    ) -> Self {
        Self::with_credentials(
            Credentials {
                ufrag: username_fragment.to_owned(),
                password: password.to_owned(),
            },
            consent_timeout_ms,
        )
    }

    fn with_credentials(credentials: Credentials, consent_timeout_ms: u64) -> Self {
        IceLite {
            credentials,
            previous: None,
            consent_timeout_ms,
            state: IceState::New,
            tuples: Vec::new(),
            selected: None,
            remote_nomination: 0,
            consent_deadline: None,
            consent_restart_pending: false,
            last_now_ms: 0,
            events: VecDeque::new(),
            stats: IceStats::default(),
        }
    }

    // ---- getters ----

    /// Current local parameters.
    pub fn local_parameters(&self) -> IceParameters {
        IceParameters {
            username_fragment: self.credentials.ufrag.clone(),
            password: self.credentials.password.clone(),
            ice_lite: true,
        }
    }

    /// Current state.
    pub fn state(&self) -> IceState {
        self.state
    }

    /// Remote address of the selected tuple.
    pub fn selected(&self) -> Option<SocketAddr> {
        self.selected
    }

    /// True when `from` passed a valid check and consent has not expired since: media and DTLS
    /// are accepted only from such addresses.
    pub fn is_valid_remote(&self, from: SocketAddr) -> bool {
        self.selected == Some(from) || self.tuples.contains(&from)
    }

    /// All valid remote addresses, newest first.
    pub fn valid_remotes(&self) -> &[SocketAddr] {
        &self.tuples
    }

    /// True when USERNAME's local part `ufrag` is answered (current, or previous during a
    /// restart's grace period).
    pub fn accepts_username_fragment(&self, ufrag: &str) -> bool {
        self.credentials.ufrag == ufrag || self.previous.as_ref().is_some_and(|p| p.ufrag == ufrag)
    }

    /// Counters.
    pub fn stats(&self) -> IceStats {
        self.stats
    }

    // ---- inputs ----

    /// Input: a datagram from `from`. Binding requests are answered (the caller sends
    /// `Respond` bytes to `from`); every other STUN datagram is dropped and counted.
    pub fn handle_stun(&mut self, now_ms: u64, from: SocketAddr, buf: &[u8]) -> StunOutcome {
        self.last_now_ms = now_ms;
        if !buf.is_empty() && !stun::in_stun_range(buf) {
            return StunOutcome::NotStun;
        }
        match self.process_request(now_ms, from, buf) {
            Ok(bytes) => StunOutcome::Respond(bytes),
            Err(reason) => {
                self.count_drop(reason);
                StunOutcome::Drop(reason)
            }
        }
    }

    fn process_request(
        &mut self,
        now_ms: u64,
        from: SocketAddr,
        buf: &[u8],
    ) -> Result<Vec<u8>, DropReason> {
        if self.state == IceState::Closed {
            return Err(DropReason::Closed);
        }
        let msg = stun::parse(buf).map_err(|_| DropReason::Malformed)?;
        if !msg.is_binding_request() {
            return Err(DropReason::NotBindingRequest);
        }
        // Optional (Chrome always sends it; mediasoup insists on it).
        if msg.has_fingerprint && !stun::check_fingerprint(buf) {
            return Err(DropReason::BadFingerprint);
        }
        let (Some(username), true, Some(_priority)) =
            (msg.username, msg.has_integrity, msg.priority)
        else {
            return Err(DropReason::MissingAttribute);
        };
        let (local_ufrag, _remote_ufrag) = username
            .split_once(':')
            .ok_or(DropReason::UnknownUsername)?;
        let (password, uses_current) = if local_ufrag == self.credentials.ufrag {
            (self.credentials.password.clone(), true)
        } else if let Some(previous) = self.previous.as_ref().filter(|p| p.ufrag == local_ufrag) {
            (previous.password.clone(), false)
        } else {
            return Err(DropReason::UnknownUsername);
        };
        if !stun::check_integrity(buf, password.as_bytes()) {
            return Err(DropReason::BadIntegrity);
        }

        if uses_current {
            if let Some(previous) = self.previous.take() {
                self.events
                    .push_back(IceEvent::UsernameFragmentRetired(previous.ufrag));
            }
        }

        // We are always controlled; a peer claiming the same role gets 487 (mediasoup does).
        if msg.ice_controlled.is_some() {
            let response = stun::binding_error(msg.transaction_id, ROLE_CONFLICT, &password)
                .ok_or(DropReason::Internal)?;
            self.stats.role_conflicts += 1;
            return Ok(response);
        }

        let response = stun::binding_success(msg.transaction_id, from, &password)
            .ok_or(DropReason::Internal)?;
        self.stats.requests_ok += 1;
        self.handle_tuple(from, msg.use_candidate, msg.nomination);

        if self.consent_timeout_ms > 0
            && matches!(self.state, IceState::Connected | IceState::Completed)
        {
            self.consent_deadline = Some(now_ms.saturating_add(self.consent_timeout_ms));
            self.consent_restart_pending = false;
        }
        Ok(response)
    }

    /// Input: a DTLS record or an authenticated RTP packet arrived from `from`. If `from` is a
    /// valid tuple it becomes the selected one (mediasoup's trick for clients that nominate
    /// aggressively); call it only after [`IceLite::is_valid_remote`] accepted `from`.
    pub fn handle_media_from(&mut self, from: SocketAddr) {
        if self.selected == Some(from)
            || !matches!(self.state, IceState::Connected | IceState::Completed)
            || !self.tuples.contains(&from)
        {
            return;
        }
        self.select(from);
    }

    /// Input: the clock reached `now_ms` (at or after [`IceLite::poll_timeout`]).
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.last_now_ms = now_ms;
        if self.consent_restart_pending {
            self.consent_restart_pending = false;
            if self.consent_deadline.is_some() {
                self.consent_deadline = Some(now_ms.saturating_add(self.consent_timeout_ms));
            }
        }
        let Some(deadline) = self.consent_deadline else {
            return;
        };
        if now_ms < deadline {
            return;
        }
        self.consent_deadline = None;
        if matches!(self.state, IceState::Connected | IceState::Completed) {
            self.stats.consent_expirations += 1;
            self.disconnect();
        }
    }

    // ---- mutators ----

    /// ICE restart: new local credentials, returned for signaling. State, tuples and selection
    /// stay; the previous credentials keep working until the peer uses the new ones once
    /// (then `UsernameFragmentRetired` is emitted for them). A running consent timer restarts.
    pub fn restart(&mut self) -> IceParameters {
        let previous = std::mem::replace(&mut self.credentials, Credentials::random());
        if let Some(older) = self.previous.replace(previous) {
            self.events
                .push_back(IceEvent::UsernameFragmentRetired(older.ufrag));
        }
        self.remote_nomination = 0;
        if self.consent_deadline.is_some() {
            self.consent_restart_pending = true;
        }
        self.local_parameters()
    }

    /// Forgets `addr` (e.g. its ICE-TCP connection closed). If it was selected, the newest other
    /// tuple is selected, or the state becomes `disconnected` when none is left.
    pub fn remove_tuple(&mut self, addr: SocketAddr) {
        let Some(index) = self.tuples.iter().position(|t| *t == addr) else {
            return;
        };
        self.tuples.remove(index);
        self.events.push_back(IceEvent::TupleRemoved(addr));
        if self.selected != Some(addr) {
            return;
        }
        self.selected = None;
        match self.tuples.first().copied() {
            Some(next) if matches!(self.state, IceState::Connected | IceState::Completed) => {
                self.select(next);
                if self.consent_deadline.is_some() {
                    self.consent_restart_pending = true;
                }
            }
            _ => self.disconnect(),
        }
    }

    /// Closes the agent: every tuple and ufrag is retired (events), then nothing is processed.
    /// No `StateChange` is emitted, as mediasoup does not emit one on close.
    pub fn close(&mut self) {
        if self.state == IceState::Closed {
            return;
        }
        for addr in self.tuples.drain(..) {
            self.events.push_back(IceEvent::TupleRemoved(addr));
        }
        self.events.push_back(IceEvent::UsernameFragmentRetired(
            self.credentials.ufrag.clone(),
        ));
        if let Some(previous) = self.previous.take() {
            self.events
                .push_back(IceEvent::UsernameFragmentRetired(previous.ufrag));
        }
        self.selected = None;
        self.consent_deadline = None;
        self.consent_restart_pending = false;
        self.state = IceState::Closed;
    }

    // ---- outputs ----

    /// When to call [`IceLite::handle_timeout`] next (ms on the caller's clock); `None`: never.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.consent_restart_pending {
            return Some(self.last_now_ms);
        }
        self.consent_deadline
    }

    /// Next pending event.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    // ---- internals ----

    /// mediasoup's `IceServer::HandleTuple`.
    fn handle_tuple(&mut self, from: SocketAddr, use_candidate: bool, nomination: Option<u32>) {
        let nominated = use_candidate || nomination.is_some();
        // Renomination: only a higher NOMINATION value moves the selection.
        let accepted = nomination.is_none_or(|n| n > self.remote_nomination);
        self.add_tuple(from);
        match self.state {
            IceState::New | IceState::Disconnected => {
                if !nominated {
                    self.state = IceState::Connected;
                    self.select(from);
                    self.events
                        .push_back(IceEvent::StateChange(IceState::Connected));
                } else if accepted {
                    self.state = IceState::Completed;
                    self.select(from);
                    self.note_nomination(nomination);
                    self.events
                        .push_back(IceEvent::StateChange(IceState::Completed));
                }
            }
            IceState::Connected => {
                if nominated && accepted {
                    self.state = IceState::Completed;
                    self.select(from);
                    self.note_nomination(nomination);
                    self.events
                        .push_back(IceEvent::StateChange(IceState::Completed));
                }
            }
            IceState::Completed => {
                if nominated && accepted {
                    self.select(from);
                    self.note_nomination(nomination);
                }
            }
            IceState::Closed => {}
        }
    }

    fn note_nomination(&mut self, nomination: Option<u32>) {
        if let Some(n) = nomination {
            self.remote_nomination = self.remote_nomination.max(n);
        }
    }

    fn add_tuple(&mut self, addr: SocketAddr) {
        if self.tuples.contains(&addr) {
            return;
        }
        self.tuples.insert(0, addr);
        self.events.push_back(IceEvent::TupleAdded(addr));
        if self.tuples.len() > MAX_TUPLES {
            let selected = self.selected;
            if let Some(index) = self
                .tuples
                .iter()
                .rposition(|t| *t != addr && Some(*t) != selected)
            {
                let evicted = self.tuples.remove(index);
                self.events.push_back(IceEvent::TupleRemoved(evicted));
            }
        }
    }

    fn select(&mut self, addr: SocketAddr) {
        if self.selected == Some(addr) {
            return;
        }
        self.selected = Some(addr);
        self.stats.selected_tuple_changes += 1;
        self.events.push_back(IceEvent::SelectedTupleChange(addr));
    }

    fn disconnect(&mut self) {
        for addr in self.tuples.drain(..) {
            self.events.push_back(IceEvent::TupleRemoved(addr));
        }
        self.selected = None;
        self.remote_nomination = 0;
        self.consent_deadline = None;
        self.consent_restart_pending = false;
        self.state = IceState::Disconnected;
        self.events
            .push_back(IceEvent::StateChange(IceState::Disconnected));
    }

    fn count_drop(&mut self, reason: DropReason) {
        let counter = match reason {
            DropReason::Malformed => &mut self.stats.dropped_malformed,
            DropReason::BadFingerprint => &mut self.stats.dropped_bad_fingerprint,
            DropReason::NotBindingRequest => &mut self.stats.dropped_not_binding_request,
            DropReason::MissingAttribute => &mut self.stats.dropped_missing_attribute,
            DropReason::UnknownUsername => &mut self.stats.dropped_unknown_user,
            DropReason::BadIntegrity => &mut self.stats.dropped_bad_integrity,
            DropReason::Closed => &mut self.stats.dropped_closed,
            DropReason::Internal => &mut self.stats.dropped_internal,
        };
        *counter += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngCore, SeedableRng};
    use rtc_stun::attributes::{
        AttrType, RawAttribute, ATTR_ICE_CONTROLLED, ATTR_ICE_CONTROLLING, ATTR_PRIORITY,
        ATTR_USERNAME, ATTR_USE_CANDIDATE,
    };
    use rtc_stun::error_code::ErrorCodeAttribute;
    use rtc_stun::fingerprint::FINGERPRINT;
    use rtc_stun::integrity::MessageIntegrity;
    use rtc_stun::message::{
        Getter, Message, Setter, TransactionId, BINDING_ERROR, BINDING_REQUEST, BINDING_SUCCESS,
    };
    use rtc_stun::textattrs::TextAttribute;
    use rtc_stun::xoraddr::XorMappedAddress;

    const UFRAG: &str = "localufrag000001";
    const PWD: &str = "localpassword0000000000000000001";
    const CONSENT_MS: u64 = 30_000;
    const GOOG_NETWORK_INFO: AttrType = AttrType(0xC057);
    const NOMINATION: AttrType = AttrType(0xC001);

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A Binding request laid out as Chrome sends it to an ICE-lite peer.
    #[derive(Clone)]
    struct Check {
        local_ufrag: String,
        password: String,
        use_candidate: bool,
        ice_controlled: bool,
        nomination: Option<u32>,
        fingerprint: bool,
        integrity: bool,
        priority: bool,
        transaction_id: [u8; 12],
    }

    impl Check {
        fn new() -> Self {
            Check {
                local_ufrag: UFRAG.into(),
                password: PWD.into(),
                use_candidate: false,
                ice_controlled: false,
                nomination: None,
                fingerprint: true,
                integrity: true,
                priority: true,
                transaction_id: TransactionId::new().0,
            }
        }
        fn creds(mut self, p: &IceParameters) -> Self {
            self.local_ufrag = p.username_fragment.clone();
            self.password = p.password.clone();
            self
        }
        fn nominated(mut self) -> Self {
            self.use_candidate = true;
            self
        }
        fn build(&self) -> Vec<u8> {
            let crypto = stun::crypto().unwrap();
            let raw = |typ, value: Vec<u8>| RawAttribute {
                typ,
                length: value.len() as u16,
                value,
            };
            let mut setters: Vec<Box<dyn Setter + '_>> = vec![
                Box::new(BINDING_REQUEST),
                Box::new(TransactionId(self.transaction_id)),
                Box::new(TextAttribute::new(
                    ATTR_USERNAME,
                    format!("{}:rmt1", self.local_ufrag),
                )),
                Box::new(raw(GOOG_NETWORK_INFO, vec![0, 1, 0, 10])),
            ];
            if self.ice_controlled {
                setters.push(Box::new(raw(
                    ATTR_ICE_CONTROLLED,
                    7u64.to_be_bytes().to_vec(),
                )));
            } else {
                setters.push(Box::new(raw(
                    ATTR_ICE_CONTROLLING,
                    0x1234_5678_9abc_def0u64.to_be_bytes().to_vec(),
                )));
            }
            if self.use_candidate {
                setters.push(Box::new(raw(ATTR_USE_CANDIDATE, vec![])));
            }
            if let Some(n) = self.nomination {
                setters.push(Box::new(raw(NOMINATION, n.to_be_bytes().to_vec())));
            }
            if self.priority {
                setters.push(Box::new(raw(
                    ATTR_PRIORITY,
                    1_853_824_767u32.to_be_bytes().to_vec(),
                )));
            }
            if self.integrity {
                setters.push(Box::new(
                    MessageIntegrity::new_short_term_integrity_with_provider(
                        self.password.clone(),
                        crypto,
                    ),
                ));
            }
            if self.fingerprint {
                setters.push(Box::new(FINGERPRINT));
            }
            let mut m = Message::new();
            m.build(&setters).unwrap();
            m.raw
        }
    }

    fn agent() -> IceLite {
        IceLite::with_parameters(UFRAG, PWD, CONSENT_MS)
    }

    fn events(ice: &mut IceLite) -> Vec<IceEvent> {
        std::iter::from_fn(|| ice.poll_event()).collect()
    }

    fn respond(ice: &mut IceLite, now: u64, from: SocketAddr, check: &Check) -> Vec<u8> {
        match ice.handle_stun(now, from, &check.build()) {
            StunOutcome::Respond(bytes) => bytes,
            other => panic!(
                "expected a response, got {other:?}; stats {:?}",
                ice.stats()
            ),
        }
    }

    fn dropped(ice: &mut IceLite, buf: &[u8]) -> DropReason {
        match ice.handle_stun(0, addr("10.0.0.1:5000"), buf) {
            StunOutcome::Drop(reason) => reason,
            other => panic!("expected a drop, got {other:?}"),
        }
    }

    #[test]
    fn valid_check_is_answered_with_authenticated_success() {
        let mut ice = agent();
        for from in [addr("192.0.2.7:54321"), addr("[2001:db8::7]:40000")] {
            let check = Check::new();
            let resp = respond(&mut ice, 0, from, &check);
            let mut m = Message::new();
            m.unmarshal_binary(&resp).unwrap();
            assert_eq!(m.typ, BINDING_SUCCESS);
            assert_eq!(m.transaction_id.0, check.transaction_id);
            let mut mapped = XorMappedAddress::default();
            mapped.get_from(&m).unwrap();
            assert_eq!(SocketAddr::new(mapped.ip, mapped.port), from);
            MessageIntegrity::check(&mut m, PWD.as_bytes(), stun::crypto().unwrap())
                .expect("response integrity with the local password");
            FINGERPRINT.check(&m).expect("response fingerprint");
        }
        assert_eq!(ice.stats().requests_ok, 2);
        assert_eq!(ice.stats().dropped(), 0);
    }

    #[test]
    fn plain_check_connects_then_nomination_completes() {
        let mut ice = agent();
        let a = addr("192.0.2.7:54321");
        assert_eq!(ice.state(), IceState::New);
        assert!(!ice.is_valid_remote(a));
        respond(&mut ice, 0, a, &Check::new());
        assert_eq!(ice.state(), IceState::Connected);
        assert_eq!(ice.selected(), Some(a));
        assert!(ice.is_valid_remote(a));
        assert_eq!(
            events(&mut ice),
            [
                IceEvent::TupleAdded(a),
                IceEvent::SelectedTupleChange(a),
                IceEvent::StateChange(IceState::Connected)
            ]
        );
        respond(&mut ice, 50, a, &Check::new().nominated());
        assert_eq!(ice.state(), IceState::Completed);
        assert_eq!(
            events(&mut ice),
            [IceEvent::StateChange(IceState::Completed)]
        );
        // Repeated nominations of the same pair change nothing.
        respond(&mut ice, 2_550, a, &Check::new().nominated());
        assert_eq!(events(&mut ice), []);
    }

    #[test]
    fn aggressive_nomination_completes_from_new() {
        let mut ice = agent();
        let a = addr("192.0.2.7:54321");
        respond(&mut ice, 0, a, &Check::new().nominated());
        assert_eq!(ice.state(), IceState::Completed);
        assert_eq!(ice.selected(), Some(a));
        assert_eq!(
            events(&mut ice),
            [
                IceEvent::TupleAdded(a),
                IceEvent::SelectedTupleChange(a),
                IceEvent::StateChange(IceState::Completed)
            ]
        );
    }

    #[test]
    fn later_nomination_from_another_address_switches_the_tuple() {
        let mut ice = agent();
        let a = addr("192.0.2.7:54321");
        let b = addr("198.51.100.9:60000");
        respond(&mut ice, 0, a, &Check::new().nominated());
        events(&mut ice);
        // A plain check from b makes it valid but does not select it.
        respond(&mut ice, 100, b, &Check::new());
        assert!(ice.is_valid_remote(b));
        assert_eq!(ice.selected(), Some(a));
        assert_eq!(events(&mut ice), [IceEvent::TupleAdded(b)]);
        respond(&mut ice, 200, b, &Check::new().nominated());
        assert_eq!(ice.selected(), Some(b));
        assert_eq!(ice.state(), IceState::Completed);
        assert_eq!(events(&mut ice), [IceEvent::SelectedTupleChange(b)]);
        assert!(ice.is_valid_remote(a), "the old tuple stays valid");
        assert_eq!(ice.stats().selected_tuple_changes, 2);
    }

    #[test]
    fn media_from_a_valid_tuple_selects_it() {
        let mut ice = agent();
        let a = addr("192.0.2.7:54321");
        let b = addr("198.51.100.9:60000");
        let stranger = addr("203.0.113.1:1");
        respond(&mut ice, 0, a, &Check::new().nominated());
        respond(&mut ice, 0, b, &Check::new());
        events(&mut ice);
        ice.handle_media_from(stranger);
        assert_eq!(ice.selected(), Some(a));
        ice.handle_media_from(b);
        assert_eq!(ice.selected(), Some(b));
        assert_eq!(events(&mut ice), [IceEvent::SelectedTupleChange(b)]);
    }

    #[test]
    fn renomination_only_moves_forward() {
        let mut ice = agent();
        let a = addr("192.0.2.7:54321");
        let b = addr("198.51.100.9:60000");
        let mut check = Check::new();
        check.nomination = Some(5);
        respond(&mut ice, 0, a, &check);
        assert_eq!(
            (ice.state(), ice.selected()),
            (IceState::Completed, Some(a))
        );
        check.nomination = Some(3);
        respond(&mut ice, 10, b, &check);
        assert_eq!(ice.selected(), Some(a), "stale nomination ignored");
        check.nomination = Some(6);
        respond(&mut ice, 20, b, &check);
        assert_eq!(ice.selected(), Some(b));
    }

    #[test]
    fn tuples_are_capped_at_eight_keeping_the_selected() {
        let mut ice = agent();
        let first = addr("10.0.0.1:1000");
        respond(&mut ice, 0, first, &Check::new().nominated());
        for port in 1001..1010 {
            respond(
                &mut ice,
                0,
                addr(&format!("10.0.0.1:{port}")),
                &Check::new(),
            );
        }
        assert_eq!(ice.valid_remotes().len(), MAX_TUPLES);
        assert!(ice.is_valid_remote(first), "selected tuple never evicted");
        assert!(
            !ice.is_valid_remote(addr("10.0.0.1:1001")),
            "oldest non-selected evicted"
        );
        assert!(events(&mut ice).contains(&IceEvent::TupleRemoved(addr("10.0.0.1:1001"))));
    }

    #[test]
    fn bad_integrity_is_dropped_and_counted() {
        let mut ice = agent();
        let mut check = Check::new();
        check.password = "not-the-password-at-all-00000000".into();
        assert_eq!(dropped(&mut ice, &check.build()), DropReason::BadIntegrity);
        assert_eq!(ice.stats().dropped_bad_integrity, 1);
        assert_eq!(ice.state(), IceState::New);
        assert!(events(&mut ice).is_empty());
    }

    #[test]
    fn wrong_ufrag_is_dropped_and_counted() {
        let mut ice = agent();
        let mut check = Check::new();
        check.local_ufrag = "someoneelse00000".into();
        assert_eq!(
            dropped(&mut ice, &check.build()),
            DropReason::UnknownUsername
        );
        // A prefix of our ufrag is not our ufrag.
        check.local_ufrag = UFRAG[..8].into();
        assert_eq!(
            dropped(&mut ice, &check.build()),
            DropReason::UnknownUsername
        );
        assert_eq!(ice.stats().dropped_unknown_user, 2);
    }

    #[test]
    fn missing_attributes_and_bad_fingerprint_are_dropped() {
        let mut ice = agent();
        let mut no_mi = Check::new();
        no_mi.integrity = false;
        assert_eq!(
            dropped(&mut ice, &no_mi.build()),
            DropReason::MissingAttribute
        );
        let mut no_priority = Check::new();
        no_priority.priority = false;
        assert_eq!(
            dropped(&mut ice, &no_priority.build()),
            DropReason::MissingAttribute
        );
        let mut buf = Check::new().build();
        let last = buf.len() - 1;
        buf[last] ^= 0xff;
        assert_eq!(dropped(&mut ice, &buf), DropReason::BadFingerprint);
        let stats = ice.stats();
        assert_eq!(
            (
                stats.dropped_missing_attribute,
                stats.dropped_bad_fingerprint
            ),
            (2, 1)
        );
        // Without FINGERPRINT a request is still accepted (RFC 8445 does not require it here).
        let mut no_fp = Check::new();
        no_fp.fingerprint = false;
        respond(&mut ice, 0, addr("10.0.0.1:5000"), &no_fp);
    }

    #[test]
    fn responses_and_indications_are_dropped() {
        let mut ice = agent();
        let success = stun::binding_success([1; 12], addr("10.0.0.1:1"), PWD).unwrap();
        assert_eq!(dropped(&mut ice, &success), DropReason::NotBindingRequest);
        let mut indication = Message::new();
        indication
            .build(&[
                Box::new(rtc_stun::message::MessageType::new(
                    rtc_stun::message::METHOD_BINDING,
                    rtc_stun::message::CLASS_INDICATION,
                )),
                Box::new(TransactionId::new()),
                Box::new(FINGERPRINT),
            ])
            .unwrap();
        assert_eq!(
            dropped(&mut ice, &indication.raw),
            DropReason::NotBindingRequest
        );
        let mut allocate = Message::new();
        allocate
            .build(&[
                Box::new(rtc_stun::message::MessageType::new(
                    rtc_stun::message::METHOD_ALLOCATE,
                    rtc_stun::message::CLASS_REQUEST,
                )),
                Box::new(TransactionId::new()),
            ])
            .unwrap();
        assert_eq!(
            dropped(&mut ice, &allocate.raw),
            DropReason::NotBindingRequest
        );
        assert_eq!(ice.stats().dropped_not_binding_request, 3);
    }

    #[test]
    fn role_conflict_is_answered_with_487_and_does_not_connect() {
        let mut ice = agent();
        let mut check = Check::new();
        check.ice_controlled = true;
        let resp = respond(&mut ice, 0, addr("10.0.0.1:5000"), &check);
        let mut m = Message::new();
        m.unmarshal_binary(&resp).unwrap();
        assert_eq!(m.typ, BINDING_ERROR);
        let mut code = ErrorCodeAttribute::default();
        code.get_from(&m).unwrap();
        assert_eq!(code.code.0, 487);
        MessageIntegrity::check(&mut m, PWD.as_bytes(), stun::crypto().unwrap()).unwrap();
        assert_eq!(ice.state(), IceState::New);
        assert_eq!(ice.stats().role_conflicts, 1);
    }

    #[test]
    fn rfc5769_sample_request_authenticates() {
        // §2.1: USERNAME "evtj:h6vY", ICE-CONTROLLED, so an authenticated 487 comes back.
        let hex = concat!(
            "000100582112a442b7e7a701bc34d686fa87dfae",
            "802200105354554e207465737420636c69656e74",
            "002400046e0001ff",
            "80290008932ff9b151263b36",
            "000600096576746a3a68367659202020",
            "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2",
            "80280004e57a3bcf",
        );
        let buf: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let mut ice = IceLite::with_parameters("evtj", "VOkJxbRl1RmTxUk/WvJxBt", CONSENT_MS);
        assert!(matches!(
            ice.handle_stun(0, addr("192.0.2.1:32853"), &buf),
            StunOutcome::Respond(_)
        ));
        assert_eq!(ice.stats().role_conflicts, 1);
    }

    #[test]
    fn every_prefix_and_bit_flip_of_a_valid_request_is_dropped_without_panic() {
        let mut ice = agent();
        let buf = Check::new().nominated().build();
        let mut drops = 0;
        for len in 0..buf.len() {
            match ice.handle_stun(0, addr("10.0.0.1:5000"), &buf[..len]) {
                StunOutcome::Drop(_) => drops += 1,
                other => panic!("prefix of {len} bytes gave {other:?}"),
            }
        }
        for bit in 0..buf.len() * 8 {
            let mut flipped = buf.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            match ice.handle_stun(0, addr("10.0.0.1:5000"), &flipped) {
                StunOutcome::Drop(_) => drops += 1,
                StunOutcome::NotStun if bit < 8 => {}
                other => panic!("bit {bit} flipped gave {other:?}"),
            }
        }
        let stats = ice.stats();
        assert_eq!(stats.dropped(), drops, "every drop counted: {stats:?}");
        assert_eq!(stats.requests_ok, 0);
        assert_eq!(ice.state(), IceState::New);
        assert!(ice.valid_remotes().is_empty());
    }

    #[test]
    fn random_datagrams_never_panic_and_are_counted() {
        let mut rng = StdRng::seed_from_u64(0x1CE);
        let mut ice = agent();
        let mut drops = 0;
        let valid = Check::new().build();
        for i in 0..20_000 {
            let len = (rng.next_u32() % 200) as usize;
            let mut buf = vec![0u8; len];
            rng.fill_bytes(&mut buf);
            if i % 2 == 0 && len >= 20 {
                // Make half of them look like STUN so the attribute walker is exercised.
                buf[0] &= 0x01;
                buf[2..4].copy_from_slice(&((len - 20) as u16).to_be_bytes());
                buf[4..8].copy_from_slice(&stun::MAGIC_COOKIE.to_be_bytes());
                if i % 4 == 0 {
                    // Keep a valid prefix of a real request and randomise the tail.
                    let keep = len.min(valid.len());
                    buf[20..keep].copy_from_slice(&valid[20..keep]);
                }
            }
            match ice.handle_stun(0, addr("10.0.0.1:5000"), &buf) {
                StunOutcome::Drop(_) => drops += 1,
                StunOutcome::NotStun => assert!(buf[0] > 3),
                StunOutcome::Respond(_) => panic!("random bytes answered: {buf:02x?}"),
            }
        }
        assert_eq!(ice.stats().dropped(), drops);
        assert_eq!(ice.state(), IceState::New);
    }

    #[test]
    fn non_stun_first_bytes_are_not_stun() {
        let mut ice = agent();
        for first in [4u8, 20, 22, 63, 64, 127, 128, 191, 255] {
            let buf = [first, 0, 0, 0];
            assert_eq!(
                ice.handle_stun(0, addr("10.0.0.1:5000"), &buf),
                StunOutcome::NotStun
            );
        }
        assert_eq!(ice.stats().dropped(), 0);
    }

    #[test]
    fn consent_expires_after_the_timeout_and_not_before() {
        let mut ice = agent();
        let a = addr("192.0.2.7:54321");
        assert_eq!(ice.poll_timeout(), None, "no timer before connecting");
        respond(&mut ice, 1_000, a, &Check::new().nominated());
        assert_eq!(ice.poll_timeout(), Some(1_000 + CONSENT_MS));
        // A later check on any valid tuple refreshes consent.
        respond(&mut ice, 10_000, a, &Check::new().nominated());
        let deadline = 10_000 + CONSENT_MS;
        assert_eq!(ice.poll_timeout(), Some(deadline));
        events(&mut ice);
        ice.handle_timeout(deadline - 1);
        assert_eq!(ice.state(), IceState::Completed, "1 ms early");
        assert!(events(&mut ice).is_empty());
        ice.handle_timeout(deadline);
        assert_eq!(ice.state(), IceState::Disconnected);
        assert_eq!(ice.selected(), None);
        assert!(!ice.is_valid_remote(a));
        assert_eq!(
            events(&mut ice),
            [
                IceEvent::TupleRemoved(a),
                IceEvent::StateChange(IceState::Disconnected)
            ]
        );
        assert_eq!(ice.poll_timeout(), None);
        assert_eq!(ice.stats().consent_expirations, 1);
        // The client comes back.
        respond(&mut ice, deadline + 5_000, a, &Check::new());
        assert_eq!(ice.state(), IceState::Connected);
        assert_eq!(ice.selected(), Some(a));
        assert_eq!(ice.poll_timeout(), Some(deadline + 5_000 + CONSENT_MS));
    }

    #[test]
    fn invalid_checks_do_not_refresh_consent() {
        let mut ice = agent();
        let a = addr("192.0.2.7:54321");
        respond(&mut ice, 0, a, &Check::new().nominated());
        let mut forged = Check::new();
        forged.password = "x".repeat(32);
        ice.handle_stun(20_000, a, &forged.build());
        assert_eq!(ice.poll_timeout(), Some(CONSENT_MS));
        ice.handle_timeout(CONSENT_MS);
        assert_eq!(ice.state(), IceState::Disconnected);
    }

    #[test]
    fn zero_consent_timeout_disables_the_check() {
        let mut ice = IceLite::with_parameters(UFRAG, PWD, 0);
        respond(&mut ice, 0, addr("192.0.2.7:1"), &Check::new().nominated());
        assert_eq!(ice.poll_timeout(), None);
        ice.handle_timeout(u64::MAX);
        assert_eq!(ice.state(), IceState::Completed);
    }

    #[test]
    fn restart_keeps_old_credentials_until_the_new_ones_are_used() {
        let mut ice = IceLite::new(CONSENT_MS);
        let a = addr("192.0.2.7:54321");
        let old = ice.local_parameters();
        respond(&mut ice, 0, a, &Check::new().creds(&old).nominated());
        events(&mut ice);
        let new = ice.restart();
        assert_ne!(new.username_fragment, old.username_fragment);
        assert_ne!(new.password, old.password);
        assert_eq!(ice.local_parameters(), new);
        assert_eq!(ice.state(), IceState::Completed, "state survives a restart");
        assert_eq!(ice.selected(), Some(a));
        assert!(ice.accepts_username_fragment(&old.username_fragment));
        // Grace: the client has not applied the new parameters yet (mediasoup answers it).
        let resp = respond(&mut ice, 1_000, a, &Check::new().creds(&old));
        let mut m = Message::new();
        m.unmarshal_binary(&resp).unwrap();
        MessageIntegrity::check(&mut m, old.password.as_bytes(), stun::crypto().unwrap())
            .expect("answered with the credentials the request used");
        // The client switches: old ones are retired.
        respond(&mut ice, 2_000, a, &Check::new().creds(&new).nominated());
        assert_eq!(
            events(&mut ice),
            [IceEvent::UsernameFragmentRetired(
                old.username_fragment.clone()
            )]
        );
        assert!(!ice.accepts_username_fragment(&old.username_fragment));
        let stale = Check::new().creds(&old).build();
        assert_eq!(dropped(&mut ice, &stale), DropReason::UnknownUsername);
        // The old ufrag with the new password is not a way in either.
        let mut mixed = Check::new().creds(&new);
        mixed.password = old.password.clone();
        assert_eq!(dropped(&mut ice, &mixed.build()), DropReason::BadIntegrity);
    }

    #[test]
    fn restart_switches_tuple_with_new_credentials() {
        let mut ice = IceLite::new(CONSENT_MS);
        let a = addr("192.0.2.7:54321");
        let b = addr("198.51.100.9:60000");
        let old = ice.local_parameters();
        respond(&mut ice, 0, a, &Check::new().creds(&old).nominated());
        let new = ice.restart();
        events(&mut ice);
        respond(&mut ice, 100, b, &Check::new().creds(&new).nominated());
        assert_eq!(ice.selected(), Some(b));
        assert_eq!(
            events(&mut ice),
            [
                IceEvent::UsernameFragmentRetired(old.username_fragment),
                IceEvent::TupleAdded(b),
                IceEvent::SelectedTupleChange(b)
            ]
        );
    }

    #[test]
    fn restart_gives_a_fresh_consent_period() {
        let mut ice = agent();
        respond(&mut ice, 0, addr("192.0.2.7:1"), &Check::new().nominated());
        ice.restart();
        // Due immediately so the driver hands us the current time.
        assert_eq!(ice.poll_timeout(), Some(0));
        ice.handle_timeout(20_000);
        assert_eq!(ice.poll_timeout(), Some(20_000 + CONSENT_MS));
        ice.handle_timeout(CONSENT_MS + 1);
        assert_eq!(ice.state(), IceState::Completed);
        ice.handle_timeout(20_000 + CONSENT_MS);
        assert_eq!(ice.state(), IceState::Disconnected);
    }

    #[test]
    fn removing_the_selected_tuple_falls_back_or_disconnects() {
        let mut ice = agent();
        let a = addr("192.0.2.7:1");
        let b = addr("192.0.2.8:2");
        respond(&mut ice, 0, a, &Check::new());
        respond(&mut ice, 0, b, &Check::new());
        events(&mut ice);
        ice.remove_tuple(a);
        assert_eq!(ice.selected(), Some(b));
        assert_eq!(
            events(&mut ice),
            [IceEvent::TupleRemoved(a), IceEvent::SelectedTupleChange(b)]
        );
        ice.remove_tuple(b);
        assert_eq!(ice.state(), IceState::Disconnected);
        assert_eq!(ice.selected(), None);
    }

    #[test]
    fn closed_agent_drops_everything_and_retires_its_ufrag() {
        let mut ice = agent();
        let a = addr("192.0.2.7:1");
        respond(&mut ice, 0, a, &Check::new().nominated());
        events(&mut ice);
        ice.close();
        assert_eq!(ice.state(), IceState::Closed);
        assert_eq!(
            events(&mut ice),
            [
                IceEvent::TupleRemoved(a),
                IceEvent::UsernameFragmentRetired(UFRAG.into())
            ]
        );
        assert!(!ice.is_valid_remote(a));
        assert_eq!(ice.poll_timeout(), None);
        assert_eq!(dropped(&mut ice, &Check::new().build()), DropReason::Closed);
        assert_eq!(ice.stats().dropped_closed, 1);
    }

    #[test]
    fn username_fragment_of_returns_the_local_part() {
        let buf = Check::new().build();
        assert_eq!(username_fragment_of(&buf).as_deref(), Some(UFRAG));
        assert_eq!(username_fragment_of(&buf[..buf.len() - 1]), None);
        assert_eq!(username_fragment_of(b"\x16\xfe\xfd"), None);
        let success = stun::binding_success([1; 12], addr("10.0.0.1:1"), PWD).unwrap();
        assert_eq!(username_fragment_of(&success), None);
        let mut no_colon = Message::new();
        no_colon
            .build(&[
                Box::new(BINDING_REQUEST),
                Box::new(TransactionId::new()),
                Box::new(TextAttribute::new(ATTR_USERNAME, UFRAG.into())),
            ])
            .unwrap();
        assert_eq!(username_fragment_of(&no_colon.raw), None);
    }

    #[test]
    fn generated_credentials_have_mediasoup_shape() {
        let p = IceLite::new(CONSENT_MS).local_parameters();
        let ok = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        assert_eq!(p.username_fragment.len(), 16);
        assert_eq!(p.password.len(), 32);
        assert!(ok(&p.username_fragment) && ok(&p.password), "{p:?}");
        assert!(p.ice_lite);
        assert_ne!(IceLite::new(CONSENT_MS).local_parameters(), p);
    }

    #[test]
    fn serde_names_match_mediasoup() {
        let p = IceParameters {
            username_fragment: "u".into(),
            password: "p".into(),
            ice_lite: true,
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"usernameFragment":"u","password":"p","iceLite":true}"#
        );
        assert_eq!(serde_json::from_str::<IceParameters>(&json).unwrap(), p);
        let states = [
            (IceState::New, "\"new\""),
            (IceState::Connected, "\"connected\""),
            (IceState::Completed, "\"completed\""),
            (IceState::Disconnected, "\"disconnected\""),
            (IceState::Closed, "\"closed\""),
        ];
        for (state, text) in states {
            assert_eq!(serde_json::to_string(&state).unwrap(), text);
        }
    }
}
