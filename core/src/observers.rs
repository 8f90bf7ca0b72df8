//! RTP observers, sans-IO: [`AudioLevelObserver`] and [`ActiveSpeakerObserver`].
//!
//! Both observers have the behaviour of their mediasoup v3 namesakes. They are fed by the engine
//! with the RFC 6464 `ssrc-audio-level` header extension of every audio RTP packet of an observed
//! producer (`on_packet(producer, level, voice, now_ms)`, where `level` is 0..=127 meaning
//! `-level` dBov, 127 = silence) and are driven by time passed in as `now_ms` (milliseconds on
//! any monotonic clock). Nothing here does I/O, spawns, sleeps or reads a clock:
//!
//! * [`poll_timeout`](AudioLevelObserver::poll_timeout) says when the observer next wants
//!   [`handle_timeout`](AudioLevelObserver::handle_timeout) (the end of the current interval),
//!   or `None` while paused;
//! * [`poll_event`](AudioLevelObserver::poll_event) hands out queued events;
//! * [`poll`](AudioLevelObserver::poll) does both (`handle_timeout(now)` then `poll_event()`).
//!
//! Producers are named by a caller-chosen key `K: Copy + Eq + Hash` (a producer id, an index…).
//! No method panics, whatever the input (unknown keys, levels above 127, time going backwards,
//! `u64::MAX` timestamps).
//!
//! # AudioLevelObserver
//!
//! Every `interval` ms, for each observed producer that is not paused and received at least
//! [`AUDIO_LEVEL_MIN_PACKETS`] packets in the interval (as mediasoup does), the volume is the
//! arithmetic mean of the raw RFC 6464 levels of those packets, rounded towards silence (integer
//! division), negated: levels 10 and 21 give `-15`. Like mediasoup this averages dB values, not
//! powers. Producers whose volume is `>= threshold` are sorted loudest first (ties: the producer
//! added first comes first; mediasoup would drop all but one of the tied producers), cut to
//! `max_entries` and reported as [`AudioLevelEvent::Volumes`]. When no producer qualifies,
//! [`AudioLevelEvent::Silence`] is reported, once per silence period: the observer starts out
//! silent, and after a `Silence` the next one can only follow a `Volumes`. Pausing the observer
//! reports `Silence` if the last report was `Volumes` (mediasoup does the same) and then nothing
//! until [`resume`](AudioLevelObserver::resume), which starts a fresh interval.
//!
//! Options follow mediasoup: `maxEntries >= 1` and `-127 <= threshold <= 0` are errors otherwise;
//! `interval` is clamped into 250..=5000 ms, as mediasoup's worker does.
//!
//! # ActiveSpeakerObserver
//!
//! Dominant speaker identification after I. Volfin and I. Cohen, "Dominant speaker
//! identification for multipoint videoconferencing" (IEEE 2012 / Computer Speech and Language
//! 27, 2013), adapted to the only input an SFU has: one audio level per packet.
//!
//! *Per speaker, per packet (one packet = one frame):* the level is turned into a loudness
//! `L = 127 - level` (dB above -127 dBov). A noise floor `F` tracks the minimum loudness: it
//! drops at once to any quieter frame and otherwise creeps up by 2 dB/s of packet time, and
//! starts at `min(first L, 57)` (57 = -70 dBov). The paper counts, in each frame, how many of its
//! `N1 = 13` sub-bands are active; here the frame's immediate value is the SNR quantised into
//! 13 steps of 5 dB: `a1 = min(13, floor((L - F) / 5))`. Packets that stopped arriving (DTX,
//! loss, a muted sender) count as silent frames (`a1 = 0`, one per 20 ms of gap over 100 ms).
//!
//! *Three time scales (the last 50 frames, about 1 s at 20 ms packets):*
//! * immediate: `a1` of the newest frame, out of `N1 = 13`;
//! * medium: `a2` = number of active frames (`a1 >= 4`, i.e. at least 20 dB above the noise
//!   floor, which is also the smallest `a1` with a positive immediate score) among the newest
//!   `N2 = 5` frames;
//! * long: `a3` = number of active medium blocks (at least 3 active frames out of 5) among the
//!   newest `N3 = 10` consecutive blocks of 5 frames.
//!
//! *Speech activity score* (the paper's likelihood ratio of a binomial speech model with `p = 0.5`
//! against an exponential non-speech model with rate `λ`), for `n` active sub-units out of `N`:
//! `ψ = ln C(N, n) + n ln p + (N - n) ln(1 - p) - ln λ + λ n`, floored at `1e-10`, with
//! `λ = 0.78, 24, 47` for the immediate, medium and long scales.
//!
//! *Decision,* every `interval` ms (default 300, clamped into 100..=5000 as in mediasoup): for each
//! non-paused challenger `j` and the dominant speaker `d`, the relative activities
//! `Δi = ln(ψi(j) / ψi(d))` are computed; `j` qualifies when `Δ1 > C1 = 3`, `Δ2 > C2 = 2` and
//! `Δ3 > C3 = 0`, and the qualifying challenger with the largest `Δ2` becomes dominant (ties: the
//! producer added first). With no dominant speaker yet (or after it was removed) the comparison is
//! against a silent speaker (all scores at the floor), so the first
//! [`ActiveSpeakerEvent::DominantSpeaker`] is reported once somebody actually talks (at least one
//! active medium block in the last second and an active newest frame): a lone 20 ms burst can
//! neither start nor steal dominance. A removed dominant speaker is replaced at the next interval
//! by whoever talks. The `voice` (V) flag is accepted but not used by either observer (mediasoup
//! ignores it too: its meaning depends on the sender's VAD and on the `vad` SDP attribute).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;

/// The RFC 6464 level meaning silence (-127 dBov).
pub const AUDIO_LEVEL_SILENCE: u8 = 127;

/// Mask of the level bits of the RFC 6464 one-byte value (the top bit is the V flag).
const LEVEL_MASK: u8 = 0x7f;

/// An invalid observer option: which option, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserverOptionsError {
    /// The option at fault, with mediasoup's (camelCase) name: `"maxEntries"` or `"threshold"`.
    pub field: &'static str,
    /// A human-readable message naming the option.
    pub message: &'static str,
}

impl fmt::Display for ObserverOptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for ObserverOptionsError {}

/// Advances a periodic deadline past `now_ms` (by whole intervals), without overflowing.
fn next_deadline(deadline: u64, interval_ms: u64, now_ms: u64) -> u64 {
    let interval_ms = interval_ms.max(1);
    if now_ms < deadline {
        return deadline;
    }
    let missed = (now_ms - deadline) / interval_ms + 1;
    deadline.saturating_add(missed.saturating_mul(interval_ms))
}

// ------------------------------------------------------------------------------------------------
// AudioLevelObserver
// ------------------------------------------------------------------------------------------------

/// Smallest `interval` of an [`AudioLevelObserver`]; smaller values are raised to it.
pub const AUDIO_LEVEL_MIN_INTERVAL_MS: u32 = 250;
/// Largest `interval` of an [`AudioLevelObserver`]; larger values are lowered to it.
pub const AUDIO_LEVEL_MAX_INTERVAL_MS: u32 = 5000;
/// A producer needs at least this many packets in an interval to get a volume (as in mediasoup).
pub const AUDIO_LEVEL_MIN_PACKETS: u64 = 10;

/// Options of an [`AudioLevelObserver`] (mediasoup's `AudioLevelObserverOptions`, without
/// `appData`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioLevelObserverOptions {
    /// Maximum number of entries in a `Volumes` event. Default 1; must be >= 1.
    pub max_entries: u32,
    /// Minimum average volume (dBov, from -127 to 0) for entries in a `Volumes` event.
    /// Default -80; must be within -127..=0.
    pub threshold: i32,
    /// Interval in ms for checking audio volumes. Default 1000; clamped into 250..=5000.
    pub interval: u32,
}

impl Default for AudioLevelObserverOptions {
    fn default() -> Self {
        Self {
            max_entries: 1,
            threshold: -80,
            interval: 1000,
        }
    }
}

/// An event of an [`AudioLevelObserver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioLevelEvent<K> {
    /// The loudest producers of the last interval, loudest first: `(producer, volume)`, where
    /// volume is the average dBov (-127..=0), at most `max_entries` of them, none below
    /// `threshold`.
    Volumes(Vec<(K, i8)>),
    /// No producer was at or above `threshold` (reported once per silence period).
    Silence,
}

#[derive(Debug, Clone)]
struct LevelAccumulator {
    /// Order of addition, for deterministic tie-breaking.
    seq: u64,
    /// The producer is paused: its packets are ignored and it gets no volume.
    paused: bool,
    /// Sum of the raw levels (0..=127) of the interval's packets.
    sum: u64,
    /// Number of packets in the interval.
    count: u64,
}

impl LevelAccumulator {
    fn reset(&mut self) {
        self.sum = 0;
        self.count = 0;
    }
}

/// Reports, every interval, the loudest observed producers (mediasoup's `AudioLevelObserver`).
///
/// See the [module documentation](self) for the exact behaviour.
#[derive(Debug, Clone)]
pub struct AudioLevelObserver<K> {
    max_entries: usize,
    threshold: i8,
    interval_ms: u64,
    producers: HashMap<K, LevelAccumulator>,
    next_seq: u64,
    paused: bool,
    /// The last report was `Silence` (or nothing was reported yet).
    silence: bool,
    /// End of the current interval.
    deadline: u64,
    events: VecDeque<AudioLevelEvent<K>>,
}

impl<K: Copy + Eq + Hash> AudioLevelObserver<K> {
    /// Creates an observer whose first interval starts at `now_ms`.
    ///
    /// Fails if `max_entries` is 0 or `threshold` is outside -127..=0; `interval` is clamped into
    /// [`AUDIO_LEVEL_MIN_INTERVAL_MS`]..=[`AUDIO_LEVEL_MAX_INTERVAL_MS`].
    pub fn new(
        options: AudioLevelObserverOptions,
        now_ms: u64,
    ) -> Result<Self, ObserverOptionsError> {
        if options.max_entries < 1 {
            return Err(ObserverOptionsError {
                field: "maxEntries",
                message: "if given, maxEntries must be a positive number (>= 1)",
            });
        }
        if !(-127..=0).contains(&options.threshold) {
            return Err(ObserverOptionsError {
                field: "threshold",
                message: "if given, threshold must be a number from -127 to 0",
            });
        }
        let interval_ms = u64::from(
            options
                .interval
                .clamp(AUDIO_LEVEL_MIN_INTERVAL_MS, AUDIO_LEVEL_MAX_INTERVAL_MS),
        );
        Ok(Self {
            max_entries: usize::try_from(options.max_entries).unwrap_or(usize::MAX),
            threshold: i8::try_from(options.threshold).unwrap_or(-127),
            interval_ms,
            producers: HashMap::new(),
            next_seq: 0,
            paused: false,
            silence: true,
            deadline: now_ms.saturating_add(interval_ms),
            events: VecDeque::new(),
        })
    }

    /// Maximum number of entries in a `Volumes` event.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Minimum average volume (dBov) reported.
    pub fn threshold(&self) -> i8 {
        self.threshold
    }

    /// The interval in ms, after clamping.
    pub fn interval_ms(&self) -> u64 {
        self.interval_ms
    }

    /// Whether the observer is paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Whether `producer` is observed.
    pub fn has_producer(&self, producer: K) -> bool {
        self.producers.contains_key(&producer)
    }

    /// Number of observed producers.
    pub fn producer_count(&self) -> usize {
        self.producers.len()
    }

    /// Starts observing `producer` (from the next packet on). Returns `false` (and changes
    /// nothing) if it was already observed.
    pub fn add_producer(&mut self, producer: K) -> bool {
        if self.producers.contains_key(&producer) {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.producers.insert(
            producer,
            LevelAccumulator {
                seq,
                paused: false,
                sum: 0,
                count: 0,
            },
        );
        true
    }

    /// Stops observing `producer`, forgetting its packets of the current interval. Returns
    /// `false` if it was not observed.
    pub fn remove_producer(&mut self, producer: K) -> bool {
        self.producers.remove(&producer).is_some()
    }

    /// The producer was paused: its packets are ignored and its packets of the current interval
    /// forgotten until [`producer_resumed`](Self::producer_resumed).
    pub fn producer_paused(&mut self, producer: K) {
        if let Some(acc) = self.producers.get_mut(&producer) {
            acc.paused = true;
            acc.reset();
        }
    }

    /// The producer was resumed: its packets count again.
    pub fn producer_resumed(&mut self, producer: K) {
        if let Some(acc) = self.producers.get_mut(&producer) {
            if acc.paused {
                acc.paused = false;
                acc.reset();
            }
        }
    }

    /// Pauses the observer: packets are ignored and no interval runs. Reports `Silence` if the
    /// last report was `Volumes` (as mediasoup does).
    pub fn pause(&mut self) {
        if self.paused {
            return;
        }
        self.paused = true;
        for acc in self.producers.values_mut() {
            acc.reset();
        }
        if !self.silence {
            self.silence = true;
            self.events.push_back(AudioLevelEvent::Silence);
        }
    }

    /// Resumes the observer; a fresh interval starts at `now_ms`.
    pub fn resume(&mut self, now_ms: u64) {
        if !self.paused {
            return;
        }
        self.paused = false;
        for acc in self.producers.values_mut() {
            acc.reset();
        }
        self.deadline = now_ms.saturating_add(self.interval_ms);
    }

    /// Feeds the audio level of one RTP packet of `producer` received at `now_ms`.
    ///
    /// `level` is the RFC 6464 level (0..=127, `-level` dBov); its top bit, if set (the raw byte
    /// with the V flag), is ignored. `voice` is accepted for completeness and not used. Packets
    /// of unknown or paused producers, and packets while the observer is paused, are ignored.
    /// A packet at or after the end of the current interval first closes that interval.
    pub fn on_packet(&mut self, producer: K, level: u8, voice: bool, now_ms: u64) {
        let _ = voice;
        if self.paused {
            return;
        }
        if now_ms >= self.deadline {
            self.handle_timeout(now_ms);
        }
        if let Some(acc) = self.producers.get_mut(&producer) {
            if !acc.paused {
                acc.sum = acc.sum.saturating_add(u64::from(level & LEVEL_MASK));
                acc.count = acc.count.saturating_add(1);
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next needed (the end of the current
    /// interval), or `None` while paused.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.paused {
            None
        } else {
            Some(self.deadline)
        }
    }

    /// Closes the current interval if it ended at or before `now_ms`, queueing its event. If
    /// several intervals were missed they are closed as one (like a late timer).
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if self.paused || now_ms < self.deadline {
            return;
        }
        self.update();
        self.deadline = next_deadline(self.deadline, self.interval_ms, now_ms);
    }

    /// Next queued event, if any.
    pub fn poll_event(&mut self) -> Option<AudioLevelEvent<K>> {
        self.events.pop_front()
    }

    /// [`handle_timeout`](Self::handle_timeout)`(now_ms)`, then [`poll_event`](Self::poll_event).
    pub fn poll(&mut self, now_ms: u64) -> Option<AudioLevelEvent<K>> {
        self.handle_timeout(now_ms);
        self.poll_event()
    }

    fn update(&mut self) {
        let threshold = self.threshold;
        let mut entries: Vec<(u64, K, i8)> = self
            .producers
            .iter()
            .filter(|(_, acc)| !acc.paused && acc.count >= AUDIO_LEVEL_MIN_PACKETS)
            .filter_map(|(producer, acc)| {
                let avg = (acc.sum / acc.count.max(1)).min(u64::from(AUDIO_LEVEL_SILENCE));
                let volume = -i8::try_from(avg).unwrap_or(127);
                (volume >= threshold).then_some((acc.seq, *producer, volume))
            })
            .collect();
        for acc in self.producers.values_mut() {
            acc.reset();
        }
        entries.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        entries.truncate(self.max_entries);
        if !entries.is_empty() {
            self.silence = false;
            self.events.push_back(AudioLevelEvent::Volumes(
                entries
                    .into_iter()
                    .map(|(_, producer, volume)| (producer, volume))
                    .collect(),
            ));
        } else if !self.silence {
            self.silence = true;
            self.events.push_back(AudioLevelEvent::Silence);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// ActiveSpeakerObserver
// ------------------------------------------------------------------------------------------------

/// Smallest `interval` of an [`ActiveSpeakerObserver`]; smaller values are raised to it.
pub const ACTIVE_SPEAKER_MIN_INTERVAL_MS: u32 = 100;
/// Largest `interval` of an [`ActiveSpeakerObserver`]; larger values are lowered to it.
pub const ACTIVE_SPEAKER_MAX_INTERVAL_MS: u32 = 5000;

// Volfin & Cohen's parameters.
/// Sub-units of the immediate scale (the paper's sub-bands; here 5 dB SNR steps).
const N1: u32 = 13;
/// Frames per medium block.
const N2: u32 = 5;
/// Medium blocks per long window.
const N3: u32 = 10;
/// Probability of an active sub-unit under the speech hypothesis (binomial model).
const P_SPEECH: f64 = 0.5;
/// Rates of the exponential non-speech model, immediate / medium / long.
const LAMBDA: [f64; 3] = [0.78, 24.0, 47.0];
/// Thresholds on the relative activities `ln(ψ_challenger / ψ_dominant)`, immediate / medium /
/// long.
const C: [f64; 3] = [3.0, 2.0, 0.0];
/// Floor of a speech activity score (keeps the logarithms finite).
const MIN_SCORE: f64 = 1e-10;

// Adaptation to RFC 6464 levels (not from the paper).
/// Frames kept per speaker (one long window).
const HISTORY_LEN: usize = (N2 * N3) as usize;
/// dB of SNR per immediate sub-unit.
const SNR_STEP_DB: f32 = 5.0;
/// A frame is active (for the medium scale) when `a1 >= FRAME_ACTIVE_MIN`.
const FRAME_ACTIVE_MIN: u8 = 4;
/// A medium block is active (for the long scale) when it has this many active frames.
const BLOCK_ACTIVE_MIN: u32 = 3;
/// Highest initial noise floor, as loudness (57 = -70 dBov).
const FLOOR_INIT_MAX_DB: f32 = 57.0;
/// Upward creep of the noise floor, dB per ms of packet time (2 dB/s).
const FLOOR_RISE_DB_PER_MS: f32 = 0.002;
/// At most this much packet time (ms) counts for the creep between two packets.
const FLOOR_DT_CAP_MS: u64 = 100;
/// Nominal frame duration (ms) used to turn a gap in packets into silent frames.
const FRAME_MS: u64 = 20;
/// A gap in packets longer than this (ms) is filled with silent frames.
const GAP_FILL_MS: u64 = 100;

/// Options of an [`ActiveSpeakerObserver`] (mediasoup's `ActiveSpeakerObserverOptions`, without
/// `appData`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveSpeakerObserverOptions {
    /// Interval in ms between dominant speaker decisions. Default 300; clamped into 100..=5000.
    pub interval: u32,
}

impl Default for ActiveSpeakerObserverOptions {
    fn default() -> Self {
        Self { interval: 300 }
    }
}

/// An event of an [`ActiveSpeakerObserver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActiveSpeakerEvent<K> {
    /// This producer is now the dominant speaker.
    DominantSpeaker(K),
}

#[derive(Debug, Clone)]
struct Speaker {
    /// Order of addition, for deterministic tie-breaking.
    seq: u64,
    /// The producer is paused: its packets are ignored and it cannot become dominant.
    paused: bool,
    /// Ring of the immediate values `a1` (0..=N1) of the last frames.
    frames: [u8; HISTORY_LEN],
    /// Index of the newest frame in `frames`.
    newest: usize,
    /// Time of the newest frame (real or gap-filling).
    last_frame_ms: Option<u64>,
    /// Time of the newest packet.
    last_packet_ms: Option<u64>,
    /// Noise floor, as loudness (dB above -127 dBov).
    floor_db: f32,
}

impl Speaker {
    fn new(seq: u64) -> Self {
        Self {
            seq,
            paused: false,
            frames: [0; HISTORY_LEN],
            newest: 0,
            last_frame_ms: None,
            last_packet_ms: None,
            floor_db: 0.0,
        }
    }

    fn push(&mut self, a1: u8) {
        self.newest = (self.newest + 1) % HISTORY_LEN;
        self.frames[self.newest] = a1;
    }

    /// The immediate value of the frame `age` frames before the newest (0 = newest).
    fn frame(&self, age: usize) -> u8 {
        let idx = (self.newest + HISTORY_LEN - age % HISTORY_LEN) % HISTORY_LEN;
        self.frames[idx]
    }

    /// Counts the frames missing since the newest one as silent. With `for_packet`, the slot of
    /// the packet about to be pushed is left out.
    fn fill_gap(&mut self, now_ms: u64, for_packet: bool) {
        let Some(last) = self.last_frame_ms else {
            return;
        };
        let gap = now_ms.saturating_sub(last);
        if gap <= GAP_FILL_MS {
            return;
        }
        let mut missing = gap / FRAME_MS;
        if for_packet {
            missing = missing.saturating_sub(1);
        }
        for _ in 0..missing.min(HISTORY_LEN as u64) {
            self.push(0);
        }
        self.last_frame_ms = Some(last.saturating_add(missing.saturating_mul(FRAME_MS)));
    }

    fn on_level(&mut self, level: u8, now_ms: u64) {
        self.fill_gap(now_ms, true);
        let loudness = f32::from(AUDIO_LEVEL_SILENCE - (level & LEVEL_MASK));
        self.floor_db = match self.last_packet_ms {
            None => loudness.min(FLOOR_INIT_MAX_DB),
            Some(prev) => {
                let dt = now_ms.saturating_sub(prev).min(FLOOR_DT_CAP_MS) as f32;
                (self.floor_db + FLOOR_RISE_DB_PER_MS * dt).min(loudness)
            }
        };
        let snr = (loudness - self.floor_db).max(0.0);
        // `snr` is within 0..=127, so the cast cannot saturate in surprising ways.
        let a1 = ((snr / SNR_STEP_DB) as u32).min(N1) as u8;
        self.push(a1);
        self.last_packet_ms = Some(self.last_packet_ms.map_or(now_ms, |p| p.max(now_ms)));
        self.last_frame_ms = Some(self.last_frame_ms.map_or(now_ms, |f| f.max(now_ms)));
    }

    /// Active frames in medium block `block` (0 = the newest N2 frames).
    fn block_count(&self, block: u32) -> u32 {
        let start = (block * N2) as usize;
        (0..N2 as usize)
            .filter(|i| self.frame(start + i) >= FRAME_ACTIVE_MIN)
            .count() as u32
    }

    /// Speech activity scores: immediate, medium, long.
    fn scores(&self) -> [f64; 3] {
        let a1 = u32::from(self.frame(0));
        let a2 = self.block_count(0);
        let a3 = (0..N3)
            .filter(|b| self.block_count(*b) >= BLOCK_ACTIVE_MIN)
            .count() as u32;
        [
            activity_score(a1, N1, LAMBDA[0]),
            activity_score(a2, N2, LAMBDA[1]),
            activity_score(a3, N3, LAMBDA[2]),
        ]
    }
}

/// `ln C(n, k)`.
fn ln_binomial(n: u32, k: u32) -> f64 {
    let k = k.min(n - k.min(n));
    (1..=k)
        .map(|i| (f64::from(n - k + i) / f64::from(i)).ln())
        .sum()
}

/// The paper's speech activity score for `active` active sub-units out of `total`: the log
/// likelihood ratio of a binomial(total, p) speech model against an exponential(λ) non-speech
/// model, floored at [`MIN_SCORE`].
fn activity_score(active: u32, total: u32, lambda: f64) -> f64 {
    let n = active.min(total);
    let score = ln_binomial(total, n)
        + f64::from(n) * P_SPEECH.ln()
        + f64::from(total - n) * (1.0 - P_SPEECH).ln()
        - lambda.ln()
        + lambda * f64::from(n);
    if score.is_finite() && score > MIN_SCORE {
        score
    } else {
        MIN_SCORE
    }
}

/// Identifies the dominant speaker among the observed producers (mediasoup's
/// `ActiveSpeakerObserver`), per Volfin & Cohen.
///
/// See the [module documentation](self) for the algorithm and its constants.
#[derive(Debug, Clone)]
pub struct ActiveSpeakerObserver<K> {
    interval_ms: u64,
    speakers: HashMap<K, Speaker>,
    next_seq: u64,
    paused: bool,
    dominant: Option<K>,
    /// Time of the next decision.
    deadline: u64,
    events: VecDeque<ActiveSpeakerEvent<K>>,
}

impl<K: Copy + Eq + Hash> ActiveSpeakerObserver<K> {
    /// Creates an observer whose first decision is due at `now_ms + interval` (the interval is
    /// clamped into [`ACTIVE_SPEAKER_MIN_INTERVAL_MS`]..=[`ACTIVE_SPEAKER_MAX_INTERVAL_MS`]).
    pub fn new(options: ActiveSpeakerObserverOptions, now_ms: u64) -> Self {
        let interval_ms = u64::from(options.interval.clamp(
            ACTIVE_SPEAKER_MIN_INTERVAL_MS,
            ACTIVE_SPEAKER_MAX_INTERVAL_MS,
        ));
        Self {
            interval_ms,
            speakers: HashMap::new(),
            next_seq: 0,
            paused: false,
            dominant: None,
            deadline: now_ms.saturating_add(interval_ms),
            events: VecDeque::new(),
        }
    }

    /// The interval in ms, after clamping.
    pub fn interval_ms(&self) -> u64 {
        self.interval_ms
    }

    /// Whether the observer is paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The current dominant speaker, if any.
    pub fn dominant_speaker(&self) -> Option<K> {
        self.dominant
    }

    /// Whether `producer` is observed.
    pub fn has_producer(&self, producer: K) -> bool {
        self.speakers.contains_key(&producer)
    }

    /// Number of observed producers.
    pub fn producer_count(&self) -> usize {
        self.speakers.len()
    }

    /// Starts observing `producer` (with a silent history). Returns `false` (and changes
    /// nothing) if it was already observed.
    pub fn add_producer(&mut self, producer: K) -> bool {
        if self.speakers.contains_key(&producer) {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.speakers.insert(producer, Speaker::new(seq));
        true
    }

    /// Stops observing `producer`. If it was the dominant speaker there is none until the next
    /// decision picks whoever talks. Returns `false` if it was not observed.
    pub fn remove_producer(&mut self, producer: K) -> bool {
        if self.speakers.remove(&producer).is_none() {
            return false;
        }
        if self.dominant == Some(producer) {
            self.dominant = None;
        }
        true
    }

    /// The producer was paused: its packets are ignored and it cannot become dominant (if it is
    /// dominant, it stays so until somebody else wins).
    pub fn producer_paused(&mut self, producer: K) {
        if let Some(speaker) = self.speakers.get_mut(&producer) {
            speaker.paused = true;
        }
    }

    /// The producer was resumed.
    pub fn producer_resumed(&mut self, producer: K) {
        if let Some(speaker) = self.speakers.get_mut(&producer) {
            speaker.paused = false;
        }
    }

    /// Pauses the observer: packets are ignored and no decision is made.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Resumes the observer; the next decision is due at `now_ms + interval`. The time spent
    /// paused counts as silence for everybody.
    pub fn resume(&mut self, now_ms: u64) {
        if !self.paused {
            return;
        }
        self.paused = false;
        self.deadline = now_ms.saturating_add(self.interval_ms);
    }

    /// Feeds the audio level of one RTP packet of `producer` received at `now_ms`.
    ///
    /// `level` is the RFC 6464 level (0..=127, `-level` dBov); its top bit, if set (the raw byte
    /// with the V flag), is ignored. `voice` is accepted for completeness and not used. Packets
    /// of unknown or paused producers, and packets while the observer is paused, are ignored. A
    /// packet at or after the decision time first runs the decision.
    pub fn on_packet(&mut self, producer: K, level: u8, voice: bool, now_ms: u64) {
        let _ = voice;
        if self.paused {
            return;
        }
        if now_ms >= self.deadline {
            self.handle_timeout(now_ms);
        }
        if let Some(speaker) = self.speakers.get_mut(&producer) {
            if !speaker.paused {
                speaker.on_level(level, now_ms);
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next needed (the next decision), or
    /// `None` while paused.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.paused {
            None
        } else {
            Some(self.deadline)
        }
    }

    /// Runs the decision if it is due at or before `now_ms`, queueing a `DominantSpeaker` event
    /// if the dominant speaker changed. Missed decisions are run as one.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if self.paused || now_ms < self.deadline {
            return;
        }
        self.decide(now_ms);
        self.deadline = next_deadline(self.deadline, self.interval_ms, now_ms);
    }

    /// Next queued event, if any.
    pub fn poll_event(&mut self) -> Option<ActiveSpeakerEvent<K>> {
        self.events.pop_front()
    }

    /// [`handle_timeout`](Self::handle_timeout)`(now_ms)`, then [`poll_event`](Self::poll_event).
    pub fn poll(&mut self, now_ms: u64) -> Option<ActiveSpeakerEvent<K>> {
        self.handle_timeout(now_ms);
        self.poll_event()
    }

    fn decide(&mut self, now_ms: u64) {
        for speaker in self.speakers.values_mut() {
            speaker.fill_gap(now_ms, false);
        }
        let dominant = self.dominant.filter(|d| self.speakers.contains_key(d));
        let reference = dominant
            .and_then(|d| self.speakers.get(&d))
            .map_or([MIN_SCORE; 3], Speaker::scores);
        // Best challenger so far: (Δ2, seq, key).
        let mut best: Option<(f64, u64, K)> = None;
        for (key, speaker) in &self.speakers {
            if Some(*key) == dominant || speaker.paused {
                continue;
            }
            let scores = speaker.scores();
            let delta = |i: usize| (scores[i] / reference[i]).ln();
            let (d1, d2, d3) = (delta(0), delta(1), delta(2));
            if !(d1 > C[0] && d2 > C[1] && d3 > C[2]) {
                continue;
            }
            let better = match best {
                None => true,
                Some((best_d2, best_seq, _)) => {
                    d2 > best_d2 || (d2 == best_d2 && speaker.seq < best_seq)
                }
            };
            if better {
                best = Some((d2, speaker.seq, *key));
            }
        }
        self.dominant = dominant;
        if let Some((_, _, key)) = best {
            self.dominant = Some(key);
            self.events
                .push_back(ActiveSpeakerEvent::DominantSpeaker(key));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    // ---- helpers ----

    fn alo(max_entries: u32, threshold: i32, interval: u32) -> AudioLevelObserver<u32> {
        AudioLevelObserver::new(
            AudioLevelObserverOptions {
                max_entries,
                threshold,
                interval,
            },
            0,
        )
        .expect("valid options")
    }

    /// Feeds 20 ms packets with constant levels for `[from, to)`, polling as time goes.
    fn feed_alo(
        obs: &mut AudioLevelObserver<u32>,
        levels: &[(u32, u8)],
        from: u64,
        to: u64,
    ) -> Vec<AudioLevelEvent<u32>> {
        let mut events = Vec::new();
        let mut t = from;
        while t < to {
            while let Some(e) = obs.poll(t) {
                events.push(e);
            }
            for &(p, l) in levels {
                obs.on_packet(p, l, l < 127, t);
            }
            t += 20;
        }
        while let Some(e) = obs.poll(to) {
            events.push(e);
        }
        events
    }

    type Asp = ActiveSpeakerObserver<char>;

    fn asp() -> Asp {
        ActiveSpeakerObserver::new(ActiveSpeakerObserverOptions::default(), 0)
    }

    /// Feeds 20 ms packets for `[from, to)` from each `(producer, level)`; returns the events
    /// with the time they were seen.
    fn feed_asp(obs: &mut Asp, levels: &[(char, u8)], from: u64, to: u64) -> Vec<(u64, char)> {
        let mut events = Vec::new();
        let mut t = from;
        while t < to {
            while let Some(ActiveSpeakerEvent::DominantSpeaker(k)) = obs.poll(t) {
                events.push((t, k));
            }
            for &(p, l) in levels {
                obs.on_packet(p, l, l < 127, t);
            }
            t += 20;
        }
        while let Some(ActiveSpeakerEvent::DominantSpeaker(k)) = obs.poll(to) {
            events.push((to, k));
        }
        events
    }

    /// A tiny deterministic PRNG (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    // ---- AudioLevelObserver ----

    #[test]
    fn alo_default_options() {
        let o = AudioLevelObserverOptions::default();
        assert_eq!(
            o,
            AudioLevelObserverOptions {
                max_entries: 1,
                threshold: -80,
                interval: 1000
            }
        );
        let obs: AudioLevelObserver<u8> = AudioLevelObserver::new(o, 5).unwrap();
        assert_eq!(obs.max_entries(), 1);
        assert_eq!(obs.threshold(), -80);
        assert_eq!(obs.interval_ms(), 1000);
        assert_eq!(obs.poll_timeout(), Some(1005));
    }

    #[test]
    fn alo_validation() {
        let bad = |o| AudioLevelObserver::<u8>::new(o, 0).unwrap_err();
        let d = AudioLevelObserverOptions::default();
        let e = bad(AudioLevelObserverOptions {
            max_entries: 0,
            ..d
        });
        assert_eq!(e.field, "maxEntries");
        assert!(e.to_string().contains("maxEntries"));
        for threshold in [-128, 1, 100, i32::MIN, i32::MAX] {
            let e = bad(AudioLevelObserverOptions { threshold, ..d });
            assert_eq!(e.field, "threshold");
            assert!(e.to_string().contains("threshold"));
        }
        for threshold in [-127, 0, -80] {
            assert!(
                AudioLevelObserver::<u8>::new(AudioLevelObserverOptions { threshold, ..d }, 0)
                    .is_ok()
            );
        }
        // Interval is clamped, like mediasoup's worker.
        let obs = |interval| {
            AudioLevelObserver::<u8>::new(AudioLevelObserverOptions { interval, ..d }, 0)
                .unwrap()
                .interval_ms()
        };
        assert_eq!(obs(0), 250);
        assert_eq!(obs(249), 250);
        assert_eq!(obs(250), 250);
        assert_eq!(obs(5000), 5000);
        assert_eq!(obs(60_000), 5000);
    }

    #[test]
    fn alo_volumes_loudest_first_capped() {
        let mut obs = alo(3, -127, 1000);
        for p in 1..=4 {
            assert!(obs.add_producer(p));
        }
        assert!(!obs.add_producer(1));
        let ev = feed_alo(&mut obs, &[(1, 50), (2, 10), (3, 127), (4, 30)], 0, 1000);
        assert_eq!(
            ev,
            vec![AudioLevelEvent::Volumes(vec![(2, -10), (4, -30), (1, -50)])]
        );

        let mut obs = alo(10, -127, 1000);
        for p in 1..=4 {
            obs.add_producer(p);
        }
        let ev = feed_alo(&mut obs, &[(1, 50), (2, 10), (3, 127), (4, 30)], 0, 1000);
        assert_eq!(
            ev,
            vec![AudioLevelEvent::Volumes(vec![
                (2, -10),
                (4, -30),
                (1, -50),
                (3, -127)
            ])]
        );
    }

    #[test]
    fn alo_threshold_filters() {
        let mut obs = alo(10, -80, 1000);
        for p in 1..=4 {
            obs.add_producer(p);
        }
        let ev = feed_alo(&mut obs, &[(1, 80), (2, 81), (3, 127), (4, 20)], 0, 1000);
        assert_eq!(ev, vec![AudioLevelEvent::Volumes(vec![(4, -20), (1, -80)])]);
    }

    #[test]
    fn alo_ties_keep_every_producer_in_add_order() {
        let mut obs = alo(10, -127, 1000);
        for p in [7, 3, 5] {
            obs.add_producer(p);
        }
        let ev = feed_alo(&mut obs, &[(7, 40), (3, 40), (5, 20)], 0, 1000);
        assert_eq!(
            ev,
            vec![AudioLevelEvent::Volumes(vec![(5, -20), (7, -40), (3, -40)])]
        );
    }

    #[test]
    fn alo_average_of_raw_levels_rounded_towards_silence() {
        let mut obs = alo(1, -127, 1000);
        obs.add_producer(1);
        let mut t = 0;
        for i in 0..50 {
            // Alternating 10 and 21 dB: mean 15.5 → -15; V bit set on some packets is ignored.
            let level = if i % 2 == 0 { 10 } else { 21 | 0x80 };
            obs.on_packet(1, level, true, t);
            t += 20;
        }
        assert_eq!(
            obs.poll(1000),
            Some(AudioLevelEvent::Volumes(vec![(1, -15)]))
        );
    }

    #[test]
    fn alo_needs_ten_packets() {
        let mut obs = alo(1, -127, 1000);
        obs.add_producer(1);
        for i in 0..9 {
            obs.on_packet(1, 10, true, i * 20);
        }
        assert_eq!(obs.poll(1000), None); // starts silent: no Silence either
        for i in 0..10 {
            obs.on_packet(1, 10, true, 1000 + i * 20);
        }
        assert_eq!(
            obs.poll(2000),
            Some(AudioLevelEvent::Volumes(vec![(1, -10)]))
        );
    }

    #[test]
    fn alo_silence_once_per_period() {
        let mut obs = alo(1, -80, 1000);
        obs.add_producer(1);
        obs.add_producer(2);
        // Nothing yet: the observer starts silent.
        assert!(feed_alo(&mut obs, &[(1, 127), (2, 100)], 0, 2000).is_empty());
        let ev = feed_alo(&mut obs, &[(1, 30)], 2000, 3000);
        assert_eq!(ev, vec![AudioLevelEvent::Volumes(vec![(1, -30)])]);
        let ev = feed_alo(&mut obs, &[(1, 127), (2, 90)], 3000, 6000);
        assert_eq!(ev, vec![AudioLevelEvent::Silence]);
        assert!(feed_alo(&mut obs, &[], 6000, 8000).is_empty());
        let ev = feed_alo(&mut obs, &[(2, 40)], 8000, 9000);
        assert_eq!(ev, vec![AudioLevelEvent::Volumes(vec![(2, -40)])]);
        let ev = feed_alo(&mut obs, &[], 9000, 11000);
        assert_eq!(ev, vec![AudioLevelEvent::Silence]);
    }

    #[test]
    fn alo_accumulators_reset_each_interval() {
        let mut obs = alo(1, -127, 1000);
        obs.add_producer(1);
        let ev = feed_alo(&mut obs, &[(1, 10)], 0, 1000);
        assert_eq!(ev, vec![AudioLevelEvent::Volumes(vec![(1, -10)])]);
        let ev = feed_alo(&mut obs, &[(1, 60)], 1000, 2000);
        assert_eq!(ev, vec![AudioLevelEvent::Volumes(vec![(1, -60)])]);
    }

    #[test]
    fn alo_pause_resume() {
        let mut obs = alo(1, -127, 1000);
        obs.add_producer(1);
        let ev = feed_alo(&mut obs, &[(1, 10)], 0, 1000);
        assert_eq!(ev.len(), 1);
        feed_alo(&mut obs, &[(1, 10)], 1000, 1500);
        obs.pause();
        assert!(obs.is_paused());
        // Like mediasoup: pausing after volumes reports silence, once.
        assert_eq!(obs.poll_event(), Some(AudioLevelEvent::Silence));
        obs.pause();
        assert_eq!(obs.poll_event(), None);
        assert_eq!(obs.poll_timeout(), None);
        assert!(feed_alo(&mut obs, &[(1, 10)], 1500, 5000).is_empty());
        obs.resume(5000);
        assert_eq!(obs.poll_timeout(), Some(6000));
        // Packets from before the pause and during it are gone: a fresh interval.
        let ev = feed_alo(&mut obs, &[(1, 40)], 5000, 6000);
        assert_eq!(ev, vec![AudioLevelEvent::Volumes(vec![(1, -40)])]);
        // Pausing while silent reports nothing.
        let ev = feed_alo(&mut obs, &[], 6000, 7000);
        assert_eq!(ev, vec![AudioLevelEvent::Silence]);
        obs.pause();
        assert_eq!(obs.poll_event(), None);
    }

    #[test]
    fn alo_remove_and_pause_producers() {
        let mut obs = alo(10, -127, 1000);
        for p in 1..=3 {
            obs.add_producer(p);
        }
        feed_alo(&mut obs, &[(1, 10), (2, 20), (3, 30)], 0, 500);
        assert!(obs.remove_producer(1));
        assert!(!obs.remove_producer(1));
        assert!(!obs.has_producer(1));
        obs.producer_paused(2);
        let ev = feed_alo(&mut obs, &[(1, 10), (2, 20), (3, 30)], 500, 1000);
        assert_eq!(ev, vec![AudioLevelEvent::Volumes(vec![(3, -30)])]);
        obs.producer_resumed(2);
        let ev = feed_alo(&mut obs, &[(1, 10), (2, 20), (3, 30)], 1000, 2000);
        assert_eq!(ev, vec![AudioLevelEvent::Volumes(vec![(2, -20), (3, -30)])]);
        // Unknown producers are ignored.
        obs.on_packet(99, 0, true, 2010);
        obs.producer_paused(99);
        obs.producer_resumed(99);
        assert_eq!(obs.producer_count(), 2);
    }

    #[test]
    fn alo_late_poll_closes_missed_intervals_as_one() {
        let mut obs = alo(1, -127, 1000);
        obs.add_producer(1);
        for i in 0..20 {
            obs.on_packet(1, 10, true, i * 20);
        }
        assert_eq!(obs.poll(999), None);
        assert_eq!(
            obs.poll(10_500),
            Some(AudioLevelEvent::Volumes(vec![(1, -10)]))
        );
        assert_eq!(obs.poll(10_500), None);
        assert_eq!(obs.poll_timeout(), Some(11_000));
        // A packet past the deadline first closes the interval it does not belong to.
        for i in 0..20 {
            obs.on_packet(1, 50, true, 10_500 + i * 20);
        }
        obs.on_packet(1, 0, true, 11_000);
        assert_eq!(
            obs.poll_event(),
            Some(AudioLevelEvent::Volumes(vec![(1, -50)]))
        );
    }

    #[test]
    fn alo_random_inputs_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..50 {
            let opts = AudioLevelObserverOptions {
                max_entries: rng.below(5) as u32 + 1,
                threshold: -(rng.below(128) as i32),
                interval: rng.next() as u32,
            };
            let mut now = if round % 5 == 0 {
                u64::MAX - rng.below(10_000)
            } else {
                rng.below(1 << 40)
            };
            let mut obs = AudioLevelObserver::<u8>::new(opts, now).unwrap();
            for _ in 0..2000 {
                let p = rng.below(8) as u8;
                match rng.below(20) {
                    0 => {
                        obs.add_producer(p);
                    }
                    1 => {
                        obs.remove_producer(p);
                    }
                    2 => obs.pause(),
                    3 => obs.resume(now),
                    4 => obs.producer_paused(p),
                    5 => obs.producer_resumed(p),
                    6 => now = rng.next(), // jumps anywhere, backwards too
                    7..=9 => {
                        while let Some(e) = obs.poll(now) {
                            if let AudioLevelEvent::Volumes(v) = e {
                                assert!(!v.is_empty() && v.len() <= obs.max_entries());
                                assert!(v.windows(2).all(|w| w[0].1 >= w[1].1));
                                assert!(v
                                    .iter()
                                    .all(|&(_, vol)| vol >= obs.threshold() && vol <= 0));
                            }
                        }
                    }
                    _ => {
                        now = now.saturating_add(rng.below(100));
                        obs.on_packet(p, rng.next() as u8, rng.below(2) == 0, now);
                    }
                }
                let _ = obs.poll_timeout();
            }
        }
    }

    // ---- ActiveSpeakerObserver ----

    #[test]
    fn asp_interval_default_and_clamp() {
        assert_eq!(ActiveSpeakerObserverOptions::default().interval, 300);
        assert_eq!(asp().interval_ms(), 300);
        assert_eq!(asp().poll_timeout(), Some(300));
        let with = |interval| {
            ActiveSpeakerObserver::<u8>::new(ActiveSpeakerObserverOptions { interval }, 0)
                .interval_ms()
        };
        assert_eq!(with(0), 100);
        assert_eq!(with(99), 100);
        assert_eq!(with(100), 100);
        assert_eq!(with(5000), 5000);
        assert_eq!(with(u32::MAX), 5000);
    }

    #[test]
    fn asp_score_model() {
        // Silence scores at the floor on every scale.
        assert_eq!(activity_score(0, N1, LAMBDA[0]), MIN_SCORE);
        assert_eq!(activity_score(0, N2, LAMBDA[1]), MIN_SCORE);
        assert_eq!(activity_score(0, N3, LAMBDA[2]), MIN_SCORE);
        // FRAME_ACTIVE_MIN is the smallest immediate value with a positive score.
        assert_eq!(
            activity_score(u32::from(FRAME_ACTIVE_MIN) - 1, N1, LAMBDA[0]),
            MIN_SCORE
        );
        assert!(activity_score(u32::from(FRAME_ACTIVE_MIN), N1, LAMBDA[0]) > MIN_SCORE);
        // Medium and long scores grow with activity.
        for n in 1..N3 {
            assert!(activity_score(n + 1, N3, LAMBDA[2]) > activity_score(n, N3, LAMBDA[2]));
        }
        assert!((ln_binomial(13, 6) - 1716f64.ln()).abs() < 1e-9);
        assert_eq!(ln_binomial(5, 0), 0.0);
        assert_eq!(ln_binomial(3, 9), 0.0);
    }

    #[test]
    fn asp_nobody_speaks_no_event() {
        let mut obs = asp();
        obs.add_producer('a');
        obs.add_producer('b');
        assert!(feed_asp(&mut obs, &[('a', 127), ('b', 110)], 0, 5000).is_empty());
        assert!(feed_asp(&mut obs, &[], 5000, 8000).is_empty());
        assert_eq!(obs.dominant_speaker(), None);
    }

    #[test]
    fn asp_first_speaker_then_switch() {
        let mut obs = asp();
        obs.add_producer('a');
        obs.add_producer('b');
        // A talks for 2 s, B is silent.
        let ev = feed_asp(&mut obs, &[('a', 25), ('b', 127)], 0, 2000);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].1, 'a');
        assert!(ev[0].0 <= 600, "{ev:?}");
        assert_eq!(obs.dominant_speaker(), Some('a'));
        // Then B talks and A goes silent: B within a few intervals.
        let ev = feed_asp(&mut obs, &[('a', 127), ('b', 30)], 2000, 5000);
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].1, 'b');
        assert!(ev[0].0 <= 2000 + 4 * 300, "{ev:?}");
        assert_eq!(obs.dominant_speaker(), Some('b'));
    }

    #[test]
    fn asp_silence_without_packets_counts_as_silence() {
        // DTX / muted sender: A just stops sending packets.
        let mut obs = asp();
        obs.add_producer('a');
        obs.add_producer('b');
        assert_eq!(feed_asp(&mut obs, &[('a', 20)], 0, 2000).len(), 1);
        let ev = feed_asp(&mut obs, &[('b', 35)], 2000, 4000);
        assert_eq!(ev.iter().map(|e| e.1).collect::<Vec<_>>(), vec!['b']);
        assert!(ev[0].0 <= 3200, "{ev:?}");
    }

    #[test]
    fn asp_noise_bursts_do_not_steal_dominance() {
        let mut obs = asp();
        for k in ['a', 'b', 'c'] {
            obs.add_producer(k);
        }
        assert_eq!(
            feed_asp(&mut obs, &[('a', 25), ('b', 127), ('c', 127)], 0, 2000),
            vec![(300, 'a')]
        );
        // A keeps talking; C sends one loud 20 ms packet every 700 ms (at varied phases).
        let mut t = 2000;
        for i in 0..10u64 {
            let burst_at = t + 100 + (i * 37) % 300;
            let mut events = feed_asp(&mut obs, &[('a', 25), ('b', 127), ('c', 127)], t, burst_at);
            events.extend(feed_asp(
                &mut obs,
                &[('a', 25), ('b', 127), ('c', 0)],
                burst_at,
                burst_at + 20,
            ));
            events.extend(feed_asp(
                &mut obs,
                &[('a', 25), ('b', 127), ('c', 127)],
                burst_at + 20,
                t + 700,
            ));
            assert!(events.is_empty(), "{events:?}");
            t += 700;
        }
        // A stops talking: still nobody else talks, C's bursts still do not take over.
        for i in 0..10u64 {
            let burst_at = t + 50 + (i * 53) % 300;
            let mut events = feed_asp(&mut obs, &[('a', 127), ('b', 127), ('c', 127)], t, burst_at);
            events.extend(feed_asp(
                &mut obs,
                &[('a', 127), ('b', 127), ('c', 0)],
                burst_at,
                burst_at + 20,
            ));
            events.extend(feed_asp(
                &mut obs,
                &[('a', 127), ('b', 127), ('c', 127)],
                burst_at + 20,
                t + 700,
            ));
            assert!(events.is_empty(), "{events:?}");
            t += 700;
        }
        assert_eq!(obs.dominant_speaker(), Some('a'));
        // A real talker still can take over.
        let ev = feed_asp(&mut obs, &[('a', 127), ('b', 127), ('c', 30)], t, t + 2000);
        assert_eq!(ev.iter().map(|e| e.1).collect::<Vec<_>>(), vec!['c']);
    }

    #[test]
    fn asp_overlapping_talker_does_not_steal_dominance() {
        let mut obs = asp();
        obs.add_producer('a');
        obs.add_producer('b');
        assert_eq!(feed_asp(&mut obs, &[('a', 30)], 0, 2000).len(), 1);
        // B talks as loud as A at the same time: A keeps the floor.
        assert!(feed_asp(&mut obs, &[('a', 30), ('b', 30)], 2000, 6000).is_empty());
        assert_eq!(obs.dominant_speaker(), Some('a'));
    }

    #[test]
    fn asp_remove_dominant() {
        let mut obs = asp();
        for k in ['a', 'b', 'c'] {
            obs.add_producer(k);
        }
        assert_eq!(feed_asp(&mut obs, &[('a', 20)], 0, 1000).len(), 1);
        // B talks over A (does not take over), then A is removed: B at the next interval.
        assert!(feed_asp(&mut obs, &[('a', 20), ('b', 30)], 1000, 2000).is_empty());
        assert!(obs.remove_producer('a'));
        assert_eq!(obs.dominant_speaker(), None);
        assert!(!obs.has_producer('a'));
        let ev = feed_asp(&mut obs, &[('a', 20), ('b', 30)], 2000, 2400);
        assert_eq!(ev, vec![(2100, 'b')]);
        // Remove B while nobody talks: no event, until C talks.
        assert!(feed_asp(&mut obs, &[], 2400, 4000).is_empty());
        assert!(obs.remove_producer('b'));
        assert!(feed_asp(&mut obs, &[('c', 127)], 4000, 6000).is_empty());
        assert_eq!(obs.dominant_speaker(), None);
        let ev = feed_asp(&mut obs, &[('c', 40)], 6000, 7000);
        assert_eq!(ev.iter().map(|e| e.1).collect::<Vec<_>>(), vec!['c']);
        // Removing a non-dominant or unknown producer changes nothing.
        assert!(!obs.remove_producer('z'));
        assert_eq!(obs.dominant_speaker(), Some('c'));
    }

    #[test]
    fn asp_pause_resume() {
        let mut obs = asp();
        obs.add_producer('a');
        obs.add_producer('b');
        assert_eq!(feed_asp(&mut obs, &[('a', 20)], 0, 1000).len(), 1);
        obs.pause();
        assert!(obs.is_paused());
        assert_eq!(obs.poll_timeout(), None);
        assert!(feed_asp(&mut obs, &[('b', 20)], 1000, 4000).is_empty());
        obs.resume(4000);
        assert_eq!(obs.poll_timeout(), Some(4300));
        let ev = feed_asp(&mut obs, &[('b', 20)], 4000, 6000);
        assert_eq!(ev.iter().map(|e| e.1).collect::<Vec<_>>(), vec!['b']);
    }

    #[test]
    fn asp_paused_producer_cannot_become_dominant() {
        let mut obs = asp();
        obs.add_producer('a');
        obs.add_producer('b');
        obs.producer_paused('b');
        assert!(feed_asp(&mut obs, &[('b', 20)], 0, 2000).is_empty());
        obs.producer_resumed('b');
        let ev = feed_asp(&mut obs, &[('b', 20)], 2000, 3000);
        assert_eq!(ev.iter().map(|e| e.1).collect::<Vec<_>>(), vec!['b']);
    }

    #[test]
    fn asp_steady_hum_loses_to_a_talker() {
        let mut obs = asp();
        obs.add_producer('h');
        obs.add_producer('a');
        // H: a steady hum at -45 dBov for 20 s (it may count as speech at first).
        feed_asp(&mut obs, &[('h', 45), ('a', 127)], 0, 20_000);
        // A talks with a realistic on/off pattern (syllables and short pauses); H keeps humming.
        let mut ev = Vec::new();
        let mut t = 20_000;
        while t < 24_000 {
            ev.extend(feed_asp(&mut obs, &[('h', 45), ('a', 22)], t, t + 240));
            ev.extend(feed_asp(
                &mut obs,
                &[('h', 45), ('a', 90)],
                t + 240,
                t + 300,
            ));
            t += 300;
        }
        assert_eq!(ev.last().map(|e| e.1), Some('a'), "{ev:?}");
        assert_eq!(obs.dominant_speaker(), Some('a'));
    }

    #[test]
    fn asp_random_inputs_never_panic() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for round in 0..50 {
            let mut now = if round % 5 == 0 {
                u64::MAX - rng.below(10_000)
            } else {
                rng.below(1 << 40)
            };
            let mut obs = ActiveSpeakerObserver::<u8>::new(
                ActiveSpeakerObserverOptions {
                    interval: rng.next() as u32,
                },
                now,
            );
            for _ in 0..3000 {
                let p = rng.below(6) as u8;
                match rng.below(25) {
                    0 => {
                        obs.add_producer(p);
                    }
                    1 => {
                        obs.remove_producer(p);
                    }
                    2 => obs.pause(),
                    3 => obs.resume(now),
                    4 => obs.producer_paused(p),
                    5 => obs.producer_resumed(p),
                    6 => now = rng.next(),
                    7..=9 => {
                        // (An event may name a producer removed after it was queued.)
                        while let Some(ActiveSpeakerEvent::DominantSpeaker(_)) = obs.poll(now) {}
                    }
                    _ => {
                        now = now.saturating_add(rng.below(200));
                        obs.on_packet(p, rng.next() as u8, rng.below(2) == 0, now);
                    }
                }
                let _ = obs.poll_timeout();
                if let Some(d) = obs.dominant_speaker() {
                    assert!(obs.has_producer(d));
                }
            }
        }
    }
}
