//! The owner's record of its sessions, beside the supervisor's process view: what each
//! holds (a config.toml backup and its lease, a pid file), its traffic, its stall watch;
//! which leases are out; and which ended sessions to forget.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use codex_launcher_engine::stall::{Change, StallWatch};
use codex_launcher_engine::supervisor::{Session, State};

use crate::planning::Lease;
use crate::views::Traffic;

/// Ended sessions kept in the record (and on the bus); older ones are dropped.
pub const KEEP_ENDED: usize = 100;

/// A config.toml backup a session holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The backup's key in the journal.
    pub key: String,
    /// What config.toml holds for it.
    pub lease: Lease,
}

/// One session, as the owner keeps it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Its backup, until it has ended and the backup was released.
    pub held: Option<Held>,
    /// Its pid file (launched and attached sessions).
    pub pid_file: Option<PathBuf>,
    /// Its stall watch, while it lives.
    pub watch: Option<StallWatch>,
    /// Its own proxy traffic.
    pub traffic: Traffic,
    /// When its last request arrived.
    pub last_request: Option<Instant>,
}

impl Record {
    /// A new session's record.
    pub fn new(held: Option<Held>, stall_after: Duration, now: Instant) -> Record {
        Record {
            held,
            pid_file: None,
            watch: Some(StallWatch::new(stall_after, now)),
            traffic: Traffic::default(),
            last_request: None,
        }
    }
}

/// All records.
#[derive(Debug, Default)]
pub struct Table {
    records: BTreeMap<u64, Record>,
    ended: VecDeque<u64>,
}

impl Table {
    /// Add a session.
    pub fn insert(&mut self, id: u64, record: Record) {
        self.records.insert(id, record);
    }

    /// One record.
    pub fn get(&self, id: u64) -> Option<&Record> {
        self.records.get(&id)
    }

    /// One record, to change.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Record> {
        self.records.get_mut(&id)
    }

    /// Every backup still held (by sessions starting, running or stopping).
    pub fn held_keys(&self) -> HashSet<String> {
        self.records
            .values()
            .filter_map(|r| r.held.as_ref().map(|h| h.key.clone()))
            .collect()
    }

    /// A session holding a config.toml lease other than `wanted`, if any: config.toml can
    /// hold one provider at a time.
    pub fn conflicting_lease(&self, wanted: &Lease) -> Option<(u64, &Lease)> {
        self.records.iter().find_map(|(id, r)| {
            r.held
                .as_ref()
                .filter(|h| &h.lease != wanted)
                .map(|h| (*id, &h.lease))
        })
    }

    /// Session `id` ended: what it held (its backup, its pid file), and the ended sessions
    /// to forget now that there are more than [`KEEP_ENDED`].
    pub fn end(&mut self, id: u64) -> (Option<Held>, Option<PathBuf>, Vec<u64>) {
        let Some(r) = self.records.get_mut(&id) else {
            return (None, None, Vec::new());
        };
        r.watch = None;
        let held = r.held.take();
        let pid_file = r.pid_file.take();
        self.ended.push_back(id);
        let mut forget = Vec::new();
        while self.ended.len() > KEEP_ENDED {
            if let Some(old) = self.ended.pop_front() {
                self.records.remove(&old);
                forget.push(old);
            }
        }
        (held, pid_file, forget)
    }

    /// Every backup (with its session), for shutdown.
    pub fn drain_held(&mut self) -> Vec<(u64, Held)> {
        self.records
            .iter_mut()
            .filter_map(|(id, r)| r.held.take().map(|h| (*id, h)))
            .collect()
    }

    /// The shortest stall time of the live sessions.
    pub fn shortest_stall(&self) -> Option<Duration> {
        self.records
            .values()
            .filter_map(|r| r.watch.as_ref().map(StallWatch::after))
            .min()
    }

    /// Feed the watches: `live` are the supervisor's running or stalled sessions, `cpu`
    /// their CPU ticks. The sessions whose stall state changed, and how.
    pub fn observe_stalls(
        &mut self,
        live: &[Session],
        cpu: impl Fn(&Session) -> u64,
        now: Instant,
    ) -> Vec<(u64, Change)> {
        let mut changes = Vec::new();
        for s in live {
            if !matches!(s.state, State::Running | State::Stalled) {
                continue;
            }
            let Some(r) = self.records.get_mut(&s.id) else {
                continue;
            };
            let last = r.last_request;
            if let Some(watch) = r.watch.as_mut()
                && let Some(change) = watch.observe(now, cpu(s), last)
            {
                changes.push((s.id, change));
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::SystemTime;

    use super::*;
    use codex_launcher_types::Mode;

    fn session(id: u64, state: State) -> Session {
        Session {
            id,
            endpoint: "e".into(),
            model: "m".into(),
            mode: Mode::Exec,
            pid: 1000 + u32::try_from(id).unwrap(),
            state,
            started: SystemTime::UNIX_EPOCH,
            exit_code: None,
            grace: Duration::from_secs(5),
            attached: false,
        }
    }

    fn lease(endpoint: &str) -> Lease {
        Lease::Provider {
            endpoint: endpoint.into(),
            model: "m".into(),
        }
    }

    #[test]
    fn one_lease_at_a_time_and_shared_by_equals() {
        let t0 = Instant::now();
        let mut t = Table::default();
        let held = |key: &str, e: &str| {
            Some(Held {
                key: key.into(),
                lease: lease(e),
            })
        };
        t.insert(1, Record::new(held("k1", "a"), Duration::from_secs(60), t0));
        t.insert(2, Record::new(None, Duration::from_secs(60), t0));
        assert_eq!(t.conflicting_lease(&lease("a")), None, "same lease: shared");
        assert_eq!(t.conflicting_lease(&lease("b")).map(|(id, _)| id), Some(1));
        assert_eq!(
            t.conflicting_lease(&Lease::Default).map(|(id, _)| id),
            Some(1)
        );
        let (gone, _, forget) = t.end(1);
        assert_eq!(gone.map(|h| h.key).as_deref(), Some("k1"));
        assert!(forget.is_empty());
        assert_eq!(
            t.conflicting_lease(&lease("b")),
            None,
            "released with the session"
        );
        assert!(t.held_keys().is_empty());
    }

    #[test]
    fn only_the_last_ended_sessions_are_kept() {
        let t0 = Instant::now();
        let mut t = Table::default();
        let mut forgotten = Vec::new();
        for id in 1..=(KEEP_ENDED as u64 + 5) {
            t.insert(id, Record::new(None, Duration::from_secs(60), t0));
            forgotten.extend(t.end(id).2);
        }
        assert_eq!(forgotten, [1, 2, 3, 4, 5]);
        assert!(t.get(5).is_none() && t.get(6).is_some());
    }

    #[test]
    fn stall_rules_with_a_fake_clock() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut t = Table::default();
        t.insert(1, Record::new(None, s(10), t0));
        t.insert(2, Record::new(None, s(10), t0));
        t.insert(3, Record::new(None, s(10), t0));
        let live = [
            session(1, State::Running),
            session(2, State::Running),
            session(3, State::Stopping),
        ];
        // Session 1 burns CPU, 2 is quiet, 3 is stopping (not watched).
        let cpu_at = |tick: u64| move |s: &Session| if s.id == 1 { tick } else { 0 };
        assert!(t.observe_stalls(&live, cpu_at(1), t0 + s(1)).is_empty());
        assert!(t.observe_stalls(&live, cpu_at(2), t0 + s(9)).is_empty());
        assert_eq!(
            t.observe_stalls(&live, cpu_at(3), t0 + s(10)),
            [(2, Change::Stalled(s(10)))]
        );
        assert!(
            t.observe_stalls(&live, cpu_at(4), t0 + s(15)).is_empty(),
            "reported once"
        );
        // A proxy request wakes it.
        t.get_mut(2).unwrap().last_request = Some(t0 + s(16));
        let live = [session(1, State::Running), session(2, State::Stalled)];
        assert_eq!(
            t.observe_stalls(&live, cpu_at(5), t0 + s(16)),
            [(2, Change::Active)]
        );
        assert_eq!(t.shortest_stall(), Some(s(10)));
    }
}
