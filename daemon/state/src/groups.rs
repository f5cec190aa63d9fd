//! Fallback groups at run time: each member's circuit breaker and cooldown, and which
//! member a session sticks to. Pure (time is passed in), owned by the state owner; the proxy
//! asks it for the order to try members in and reports how each attempt went.
//!
//! # The rules
//! - A member is skipped while it cools down (a 429: its `Retry-After` or
//!   [`RATE_LIMIT_COOLDOWN`]; out of quota: [`QUOTA_COOLDOWN`]) or while its breaker is open.
//! - The breaker opens after [`FAILURES_TO_OPEN`] failures in a row; after [`HALF_OPEN_AFTER`]
//!   it is half-open and lets one request through as a probe: success closes it, failure
//!   reopens it.
//! - A conversation stays on the member that served its last successful turn (caches and
//!   reasoning signatures stay valid). After a failure it starts on the next member instead.
//!   A conversation is Codex's thread when the request names one (`prompt_cache_key`, which
//!   `codex exec resume` and a relaunch keep), else the launcher's session.
//! - When every member is skipped, the group answers "try again at" the earliest time one
//!   becomes available.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use codex_launcher_engine::model::{Group, GroupMember};
use codex_launcher_types::BreakerState;

/// Consecutive failures that open a member's breaker.
pub const FAILURES_TO_OPEN: u32 = 3;
/// How long an open breaker waits before a probe.
pub const HALF_OPEN_AFTER: Duration = Duration::from_secs(30);
/// A 429 without `Retry-After` cools the member down this long.
pub const RATE_LIMIT_COOLDOWN: Duration = Duration::from_secs(60);
/// Out of quota (402, `insufficient_quota`): this long, or until the endpoints are reloaded.
pub const QUOTA_COOLDOWN: Duration = Duration::from_secs(3600);
/// Conversations remembered per group beyond sessions' own (threads outlive sessions): the
/// least recently routed are forgotten past this.
pub const MAX_CONVERSATIONS: usize = 4096;
/// A probe whose outcome never came (the request was never made) stops blocking others.
const PROBE_TIMEOUT: Duration = Duration::from_secs(120);

/// How an attempt on a member went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// It answered and the turn went on.
    Served,
    /// It failed: why, and how long to leave it alone (429, quota).
    Failed {
        /// For the journal and `group show`.
        reason: String,
        /// Skip it this long whatever its breaker says.
        cooldown: Option<Duration>,
    },
}

/// One member's health.
#[derive(Debug, Clone, Default)]
pub struct Breaker {
    failures: u32,
    opened_at: Option<Instant>,
    probe_since: Option<Instant>,
    cooldown_until: Option<Instant>,
    last_error: String,
}

impl Breaker {
    /// Its breaker's state at `now`.
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.opened_at {
            None => BreakerState::Closed,
            Some(t) if now.saturating_duration_since(t) >= HALF_OPEN_AFTER => {
                BreakerState::HalfOpen
            }
            Some(_) => BreakerState::Open,
        }
    }

    /// How long it still cools down.
    pub fn cooldown(&self, now: Instant) -> Option<Duration> {
        self.cooldown_until
            .filter(|t| *t > now)
            .map(|t| t.duration_since(now))
    }

    /// Why it last failed.
    pub fn last_error(&self) -> &str {
        &self.last_error
    }

    /// Whether a request may go to it now.
    fn available(&self, now: Instant) -> bool {
        if self.cooldown(now).is_some() {
            return false;
        }
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => self
                .probe_since
                .is_none_or(|t| now.saturating_duration_since(t) >= PROBE_TIMEOUT),
        }
    }

    /// When it will be available (`now` if it is).
    fn ready_at(&self, now: Instant) -> Instant {
        let breaker = match self.state(now) {
            BreakerState::Open => self.opened_at.map_or(now, |t| t + HALF_OPEN_AFTER),
            _ => now,
        };
        breaker.max(self.cooldown_until.unwrap_or(now))
    }

    fn record(&mut self, attempt: &Attempt, now: Instant) {
        match attempt {
            Attempt::Served => *self = Breaker::default(),
            Attempt::Failed { reason, cooldown } => {
                let probing = self.state(now) == BreakerState::HalfOpen;
                self.failures = self.failures.saturating_add(1);
                self.probe_since = None;
                if probing || self.failures >= FAILURES_TO_OPEN {
                    self.opened_at = Some(now);
                }
                if let Some(c) = cooldown {
                    self.cooldown_until = Some(now + *c);
                }
                self.last_error.clone_from(reason);
            }
        }
    }
}

/// What stickiness follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Conversation {
    /// Codex's thread id: the same across `codex exec resume` and relaunches.
    Thread(String),
    /// A launcher session (`None`: callers without one).
    Session(Option<u64>),
}

impl Conversation {
    /// The thread when the request names a usable one, else the session.
    pub fn of(session: Option<u64>, thread: Option<&str>) -> Self {
        // Codex's thread ids are UUIDs; anything long or empty is not a key worth keeping.
        match thread.filter(|t| !t.is_empty() && t.len() <= 128) {
            Some(t) => Conversation::Thread(t.to_owned()),
            None => Conversation::Session(session),
        }
    }
}

impl From<Option<u64>> for Conversation {
    fn from(session: Option<u64>) -> Self {
        Conversation::Session(session)
    }
}

/// The order to try a group's members in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Members to try, in order (empty: none is available now).
    pub members: Vec<GroupMember>,
    /// The member the session was on, when the first member to try is another one: its
    /// reasoning is handed over.
    pub moved_from: Option<GroupMember>,
    /// When nothing is available: how long until a member is.
    pub retry_after: Option<Duration>,
}

/// Every group's members' health, and where sessions stick.
#[derive(Debug, Default)]
pub struct Groups {
    breakers: HashMap<(String, GroupMember), Breaker>,
    /// `(group, conversation)` → the member that served its last successful turn, and when
    /// the conversation was last routed.
    sticky: HashMap<(String, Conversation), (GroupMember, Instant)>,
    /// `(group, conversation)` → the member that failed its last attempt (tried last next
    /// time).
    avoid: HashMap<(String, Conversation), (GroupMember, Instant)>,
}

impl Groups {
    /// One member's health.
    pub fn breaker(&self, group: &str, member: &GroupMember) -> Option<&Breaker> {
        self.breakers.get(&(group.to_owned(), member.clone()))
    }

    /// The members to try for a request of `conversation` on `group`, at `now`. A
    /// half-open member put in the list is taken as the probe.
    pub fn route(
        &mut self,
        group: &Group,
        conversation: impl Into<Conversation>,
        now: Instant,
    ) -> Route {
        let key = (group.id.clone(), conversation.into());
        let sticky = self.sticky.get_mut(&key).map(|(m, at)| {
            *at = now;
            m.clone()
        });
        let avoid = self.avoid.get(&key).map(|(m, _)| m.clone());
        let healthy = |g: &Groups, m: &GroupMember| {
            g.breakers
                .get(&(group.id.clone(), m.clone()))
                .is_none_or(|b| b.available(now))
        };
        let mut order: Vec<GroupMember> = Vec::new();
        if let Some(s) = sticky.as_ref().filter(|s| group.members.contains(s)) {
            order.push(s.clone());
        }
        for m in &group.members {
            if !order.contains(m) && avoid.as_ref() != Some(m) {
                order.push(m.clone());
            }
        }
        if let Some(a) = avoid.filter(|a| group.members.contains(a) && !order.contains(a)) {
            order.push(a);
        }
        order.retain(|m| healthy(self, m));
        let mut probe_taken = false;
        for m in &order {
            if let Some(b) = self.breakers.get_mut(&(group.id.clone(), m.clone()))
                && b.state(now) == BreakerState::HalfOpen
                && !probe_taken
            {
                b.probe_since = Some(now);
                probe_taken = true;
            }
        }
        let retry_after = order.is_empty().then(|| {
            group
                .members
                .iter()
                .map(|m| {
                    self.breakers
                        .get(&(group.id.clone(), m.clone()))
                        .map_or(now, |b| b.ready_at(now))
                })
                .min()
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
                .max(Duration::from_secs(1))
        });
        let moved_from = sticky.filter(|s| order.first().is_some_and(|first| first != s));
        Route {
            members: order,
            moved_from,
            retry_after,
        }
    }

    /// How an attempt on `member` went for `conversation`.
    pub fn record(
        &mut self,
        group: &str,
        member: &GroupMember,
        conversation: impl Into<Conversation>,
        attempt: &Attempt,
        now: Instant,
    ) {
        self.breakers
            .entry((group.to_owned(), member.clone()))
            .or_default()
            .record(attempt, now);
        let key = (group.to_owned(), conversation.into());
        match attempt {
            Attempt::Served => {
                self.avoid.remove(&key);
                remember(&mut self.sticky, key, member.clone(), now);
            }
            Attempt::Failed { .. } => {
                if self.sticky.get(&key).is_some_and(|(m, _)| m == member) {
                    self.sticky.remove(&key);
                }
                remember(&mut self.avoid, key, member.clone(), now);
            }
        }
    }

    /// Forget quota cooldowns and breakers (endpoints were reloaded: keys may be new).
    pub fn reset(&mut self) {
        self.breakers.clear();
    }

    /// A session ended: forget where it stuck.
    pub fn end_session(&mut self, session: u64) {
        let ended = Conversation::Session(Some(session));
        self.sticky.retain(|(_, c), _| *c != ended);
        self.avoid.retain(|(_, c), _| *c != ended);
    }
}

/// Insert, forgetting the least recently used entry past [`MAX_CONVERSATIONS`] (a full scan,
/// only when the map is full).
fn remember(
    map: &mut HashMap<(String, Conversation), (GroupMember, Instant)>,
    key: (String, Conversation),
    member: GroupMember,
    now: Instant,
) {
    if !map.contains_key(&key)
        && map.len() >= MAX_CONVERSATIONS
        && let Some(oldest) = map
            .iter()
            .min_by_key(|(_, (_, at))| *at)
            .map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
    map.insert(key, (member, now));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(e: &str) -> GroupMember {
        GroupMember {
            endpoint: e.into(),
            model: String::new(),
        }
    }

    fn group() -> Group {
        Group {
            id: "g".into(),
            name: "g".into(),
            members: vec![member("plan"), member("paygo"), member("free")],
        }
    }

    fn failed(cooldown: Option<Duration>) -> Attempt {
        Attempt::Failed {
            reason: "HTTP 503".into(),
            cooldown,
        }
    }

    fn names(r: &Route) -> Vec<&str> {
        r.members.iter().map(|m| m.endpoint.as_str()).collect()
    }

    #[test]
    fn the_breaker_opens_after_three_failures_and_probes_after_thirty_seconds() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut gs = Groups::default();
        let g = group();
        let plan = member("plan");
        for i in 0..3 {
            // Three sessions, each failing on it once (a session's own retry would start
            // on the next member).
            assert_eq!(
                names(&gs.route(&g, Some(100 + i), t0 + s(i)))[0],
                "plan",
                "try {i}"
            );
            gs.record("g", &plan, Some(100 + i), &failed(None), t0 + s(i));
        }
        let b = gs.breaker("g", &plan).expect("breaker");
        assert_eq!(b.state(t0 + s(3)), BreakerState::Open);
        assert_eq!(names(&gs.route(&g, Some(1), t0 + s(10))), ["paygo", "free"]);
        // Half-open at 2 s + 30 s: one probe goes through, a second request skips it.
        assert_eq!(
            gs.breaker("g", &plan).map(|b| b.state(t0 + s(32))),
            Some(BreakerState::HalfOpen)
        );
        assert_eq!(names(&gs.route(&g, Some(2), t0 + s(32)))[0], "plan");
        assert_eq!(names(&gs.route(&g, Some(3), t0 + s(32))), ["paygo", "free"]);
        // The probe fails: open again, for another 30 s.
        gs.record("g", &plan, Some(2), &failed(None), t0 + s(33));
        assert_eq!(
            gs.breaker("g", &plan).map(|b| b.state(t0 + s(62))),
            Some(BreakerState::Open)
        );
        // The next probe succeeds: closed.
        assert_eq!(names(&gs.route(&g, Some(4), t0 + s(63)))[0], "plan");
        gs.record("g", &plan, Some(4), &Attempt::Served, t0 + s(64));
        assert_eq!(
            gs.breaker("g", &plan).map(|b| b.state(t0 + s(64))),
            Some(BreakerState::Closed)
        );
    }

    #[test]
    fn cooldowns_skip_a_member_and_everything_down_says_when_to_retry() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut gs = Groups::default();
        let g = group();
        gs.record("g", &member("plan"), None, &failed(Some(s(7))), t0);
        assert_eq!(names(&gs.route(&g, Some(9), t0 + s(1))), ["paygo", "free"]);
        assert_eq!(
            names(&gs.route(&g, Some(9), t0 + s(8)))[0],
            "plan",
            "cooled down"
        );
        gs.record(
            "g",
            &member("paygo"),
            None,
            &failed(Some(QUOTA_COOLDOWN)),
            t0,
        );
        gs.record("g", &member("free"), None, &failed(Some(s(20))), t0);
        gs.record("g", &member("plan"), None, &failed(Some(s(12))), t0);
        let r = gs.route(&g, None, t0 + s(2));
        assert!(r.members.is_empty());
        assert_eq!(r.retry_after, Some(s(10)), "plan is back first");
    }

    #[test]
    fn sessions_stick_to_the_member_that_served_them_and_move_after_a_failure() {
        let t0 = Instant::now();
        let mut gs = Groups::default();
        let g = group();
        gs.record("g", &member("paygo"), Some(1), &Attempt::Served, t0);
        let r = gs.route(&g, Some(1), t0);
        assert_eq!(names(&r), ["paygo", "plan", "free"]);
        assert_eq!(r.moved_from, None);
        assert_eq!(
            names(&gs.route(&g, Some(2), t0))[0],
            "plan",
            "another session"
        );
        // A failure after the first byte: the retry starts on the next member, and hands over.
        gs.record("g", &member("paygo"), Some(1), &failed(None), t0);
        let r = gs.route(&g, Some(1), t0);
        assert_eq!(names(&r), ["plan", "free", "paygo"]);
        gs.record("g", &member("plan"), Some(1), &Attempt::Served, t0);
        gs.record("g", &member("paygo"), Some(7), &Attempt::Served, t0);
        gs.record(
            "g",
            &member("paygo"),
            Some(7),
            &failed(Some(Duration::from_secs(60))),
            t0,
        );
        let r = gs.route(&g, Some(7), t0);
        assert_eq!(names(&r), ["plan", "free"]);
        gs.record("g", &member("free"), Some(8), &Attempt::Served, t0);
        let r = gs.route(&g, Some(8), t0 + Duration::from_secs(61));
        assert_eq!(names(&r)[0], "free");
        gs.end_session(8);
        assert_eq!(
            names(&gs.route(&g, Some(8), t0 + Duration::from_secs(61)))[0],
            "plan"
        );
    }

    #[test]
    fn a_session_moved_off_its_member_is_told_so() {
        let t0 = Instant::now();
        let mut gs = Groups::default();
        let g = group();
        gs.record("g", &member("plan"), Some(1), &Attempt::Served, t0);
        gs.record(
            "g",
            &member("plan"),
            Some(2),
            &failed(Some(Duration::from_secs(60))),
            t0,
        );
        let r = gs.route(&g, Some(1), t0);
        assert_eq!(names(&r), ["paygo", "free"]);
        assert_eq!(r.moved_from, Some(member("plan")));
    }

    #[test]
    fn a_thread_sticks_across_sessions_and_the_memory_is_bounded() {
        let t0 = Instant::now();
        let mut gs = Groups::default();
        let g = group();
        let thread = |s: Option<u64>| Conversation::of(s, Some("019a-thread"));
        gs.record("g", &member("free"), thread(Some(1)), &Attempt::Served, t0);
        gs.end_session(1);
        // `codex exec resume` is a new session on the same thread: it stays on `free`.
        assert_eq!(names(&gs.route(&g, thread(Some(2)), t0))[0], "free");
        assert_eq!(
            Conversation::of(Some(2), Some("")),
            Conversation::Session(Some(2)),
            "an empty thread id is no key"
        );
        for n in 0..MAX_CONVERSATIONS + 10 {
            let c = Conversation::of(None, Some(&format!("t{n}")));
            let later = t0 + Duration::from_millis(n as u64 + 1);
            gs.record("g", &member("paygo"), c, &Attempt::Served, later);
        }
        assert!(gs.sticky.len() <= MAX_CONVERSATIONS);
        assert_eq!(
            names(&gs.route(&g, thread(Some(2)), t0))[0],
            "plan",
            "the least recently routed thread was forgotten"
        );
    }
}
