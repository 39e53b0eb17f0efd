//! The relay's status file: what it published, what the source has, what went wrong.
//!
//! The file sits next to the channel (`{path}_relay.json`) and serves two readers:
//!
//! - **the relay itself after a restart.** It records, before each publish, the version about
//!   to become the next generation (`publishing`), and after it, the version that did
//!   (`published`). Opening the channel tells the relay its generation; if that generation is
//!   the one `published` or `publishing` names, and the channel's state file is the same file
//!   (device and inode) as when the record was written, the channel holds that version and it
//!   is not downloaded again. Anything else — no file, a damaged file, recreated channel files,
//!   a generation written by someone else — means "unknown", and the relay downloads the
//!   current version. A stale record can therefore cost one download, never a skipped version.
//! - **operators and supervisors.** It is plain JSON with the source revision, the published
//!   revision and generation, how far behind the relay is, the last error and counters, so a
//!   lagging or failing relay is visible without reading logs (`mmap-sync-relay status`).
//!
//! Only the relay that holds the channel (its writer lock) writes the status file. A relay that
//! cannot open the channel — another writer holds it, it holds another type, its files are
//! damaged or unreadable — must not write over the record of the one that holds it, so it
//! says why in a record of the same shape beside it ([`cannot_open_path`]:
//! `{path}_relay.cannot_open.json`), in state [`State::CannotOpen`]. Neither record touches
//! the channel's own files.
//!
//! Writes go to a temporary file in the same directory, then `rename` over the old one, so a
//! reader of the file (or a relay restarting after a crash) sees the old or the new record,
//! never half of one.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Version of the status file's JSON shape.
pub const STATUS_FORMAT: u32 = 1;

/// The status file of the channel at prefix `path`.
pub fn status_path(channel: &Path) -> PathBuf {
    let mut name = channel.as_os_str().to_owned();
    name.push("_relay.json");
    PathBuf::from(name)
}

/// Where a relay that cannot open its channel says why, given the channel's status file:
/// `NAME.json` becomes `NAME.cannot_open.json` (any other name gets `.cannot_open.json`
/// added).
pub fn cannot_open_path(status_file: &Path) -> PathBuf {
    let name = status_file.as_os_str().to_string_lossy();
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    PathBuf::from(format!("{stem}.cannot_open.json"))
}

/// Whether process `pid` exists (on Linux, where the runtime runs: `/proc/PID`).
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the record at [`cannot_open_path`]`(status_file)` if this process wrote it or the
/// process that did is gone: a relay that opened the channel, or stopped trying, has nothing
/// more to say there, and another running relay's record stays.
pub fn clear_cannot_open(status_file: &Path) {
    let path = cannot_open_path(status_file);
    match Status::load(&path) {
        Ok(Some(record)) if record.pid == std::process::id() || !process_exists(record.pid) => {
            let _ = std::fs::remove_file(&path);
        }
        Err(_) => {
            let _ = std::fs::remove_file(&path);
        }
        _ => {}
    }
}

/// The relay's status, as stored in its status file. Fields missing from a file take their
/// defaults, so a file written by an older relay still loads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// [`STATUS_FORMAT`] of the relay that wrote the file.
    pub format: u32,
    /// The channel's path prefix.
    pub channel: String,
    /// The source followed (e.g. `nats://host:4222 channel routing`).
    pub source: String,
    /// Name of the channel's type (`SharedState::TYPE_NAME`), as the channel records it;
    /// empty while there is no channel yet (the first version taken creates it). In a record
    /// of a relay that cannot open its channel: the type it expects, if any.
    pub type_name: String,
    /// Schema fingerprint of the channel's type (`SharedState::FINGERPRINT`): with the type
    /// name, layout fingerprint and structure, what a version must carry to be accepted; 0
    /// while there is no channel yet.
    pub fingerprint: u64,
    /// Process id of the relay that wrote this record. The record says nothing about whether
    /// that process still runs: check the pid (`mmap-sync-relay status` does).
    pub pid: u32,
    /// When that relay process started, in milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// When this record was written, in milliseconds since the Unix epoch. A running relay
    /// rewrites the file before each wait for the source (so at least every
    /// [`RelayOptions::recheck`](crate::RelayOptions::recheck) while it follows) and every
    /// [`RelayOptions::progress_every`](crate::RelayOptions::progress_every) while it
    /// downloads: an old value means a relay that went silent.
    pub updated_at_ms: u64,
    /// Last time the source answered (a manifest or "nothing new"), in milliseconds since the
    /// Unix epoch; `None` until it first answers.
    pub source_checked_at_ms: Option<u64>,
    /// What the relay is doing.
    pub state: State,
    /// Identity of the channel's state file when the records below were written.
    pub state_file: Option<FileId>,
    /// The version the channel's current generation holds, as far as this relay knows.
    pub published: Option<Record>,
    /// The version being applied: it becomes `published` once its publish returns. After a
    /// crash, a channel whose generation equals this record's holds this version.
    pub publishing: Option<Record>,
    /// Newest source revision seen.
    pub source_revision: Option<u64>,
    /// Source revisions not yet published (`source_revision - published.revision`, 0 when up
    /// to date). With one manifest per channel, this is the number of versions behind.
    pub behind: u64,
    /// Since when the relay has been behind the source (its first sighting of a newer
    /// revision), `None` when up to date.
    pub behind_since_ms: Option<u64>,
    /// The download in progress, if any.
    pub download: Option<Progress>,
    /// The newest version refused for good (bad type, size, digest or archive): it is not
    /// downloaded again; the relay waits for a newer revision.
    pub refused: Option<Refusal>,
    /// The last failure of any kind, kept until a version is published.
    pub last_error: Option<Problem>,
    /// Counters since this process started.
    pub counters: Counters,
}

/// What the relay is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Opening the channel and the source.
    #[default]
    Starting,
    /// Up to date with the source, or waiting for a version newer than a refused one.
    Following,
    /// Downloading and applying a version.
    Applying,
    /// The last attempt failed for a reason worth retrying; waiting before the next.
    Retrying,
    /// Stopped on request.
    Stopped,
    /// The channel could not be opened; the relay tries again after a backoff (or, on its
    /// own, has exited with the error). Only in the record at [`cannot_open_path`], where
    /// `last_error` says why, `started_at_ms` is when this process first failed to open the
    /// channel and `counters.retries` how many attempts failed after that one.
    CannotOpen,
}

/// One version in the channel (or about to be).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Source revision of the manifest.
    pub revision: u64,
    /// Channel generation the version was (or is to be) published as.
    pub generation: u64,
    /// The manifest's SHA-256 digest of the archive (`sha-256:<hex>`); with `revision`, what
    /// identifies the version.
    pub digest: String,
    /// The manifest's xxh3-64 checksum of the archive (`xxh3-64:<hex>`).
    pub checksum: String,
    /// Length of the archive in bytes.
    pub bytes: u64,
    /// Name of the object the archive was downloaded from.
    pub object: String,
    /// When the publisher finished uploading it, in milliseconds since the Unix epoch on the
    /// publisher's clock.
    pub source_published_at_ms: u64,
    /// When its publish into the channel returned, in milliseconds since the Unix epoch on
    /// this host's clock; `None` while it is being published.
    pub visible_at_ms: Option<u64>,
}

/// Device and inode of a file: tells a recreated file from the one a record was written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    /// Device number of the filesystem holding the file (`st_dev`).
    pub dev: u64,
    /// Inode number of the file on that device (`st_ino`).
    pub ino: u64,
}

impl FileId {
    /// The identity of the file at `path`.
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        Ok(FileId { dev: meta.dev(), ino: meta.ino() })
    }
}

/// A download in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Source revision of the version being downloaded.
    pub revision: u64,
    /// Bytes received so far.
    pub done: u64,
    /// Bytes expected: the manifest's size.
    pub total: u64,
}

/// A version refused for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Source revision of the refused version.
    pub revision: u64,
    /// Its manifest's digest (empty for a manifest that could not be parsed). A version with
    /// this revision and digest is not downloaded again.
    pub digest: String,
    /// Why it was refused, as logged.
    pub reason: String,
}

/// A failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The revision it concerns, when it concerns one.
    pub revision: Option<u64>,
    /// `refused` (that version is not retried) or `retrying` (it is, after a backoff).
    pub kind: String,
    /// What went wrong, as logged.
    pub message: String,
    /// When it happened, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// Counters since the relay process started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Archive downloads started.
    pub downloads: u64,
    /// Bytes received from the source.
    pub downloaded_bytes: u64,
    /// Versions published into the channel.
    pub published: u64,
    /// Versions refused.
    pub refused: u64,
    /// Failed attempts that were retried (source unreachable, timeouts, a blocked channel).
    pub retries: u64,
    /// Downloads dropped, less than half done, because a newer version arrived.
    pub abandoned: u64,
}

impl Status {
    /// Reads the status file at `path`; `Ok(None)` if there is none.
    pub fn load(path: &Path) -> Result<Option<Self>, String> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("{}: {err}", path.display())),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|err| format!("{}: not a relay status file: {err}", path.display()))
    }

    /// Writes the status to `path` atomically (temporary file in the same directory, then
    /// rename), so nobody ever reads half a record.
    pub fn store(&self, path: &Path) -> std::io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let result = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            let mut json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
            json.push(b'\n');
            file.write_all(&json)?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Records at [`cannot_open_path`]`(status_file)` that this process could not open the
    /// channel at `channel`, following `source` and expecting values of `type_name` (empty:
    /// any): `reason` is why. The attempts of one process add up (`counters.retries`) since
    /// its first (`started_at_ms`).
    pub(crate) fn store_cannot_open(
        status_file: &Path,
        channel: &Path,
        source: String,
        type_name: String,
        reason: String,
    ) -> std::io::Result<()> {
        let path = cannot_open_path(status_file);
        let now = crate::manifest::unix_millis();
        let pid = std::process::id();
        let earlier = Status::load(&path).ok().flatten().filter(|earlier| earlier.pid == pid);
        let record = Status {
            format: STATUS_FORMAT,
            channel: channel.display().to_string(),
            source,
            type_name,
            pid,
            started_at_ms: earlier.as_ref().map_or(now, |e| e.started_at_ms),
            updated_at_ms: now,
            state: State::CannotOpen,
            last_error: Some(Problem {
                revision: None,
                kind: "cannot_open".into(),
                message: reason,
                at_ms: now,
            }),
            counters: Counters {
                retries: earlier.map_or(0, |e| e.counters.retries + 1),
                ..Counters::default()
            },
            ..Status::default()
        };
        record.store(&path)
    }

    /// Updates `behind` and `behind_since_ms` from the source and published revisions.
    pub(crate) fn update_lag(&mut self, now_ms: u64) {
        let published = self.published.as_ref().map_or(0, |r| r.revision);
        self.behind = match self.source_revision {
            Some(source) if source > published => source - published,
            // A source whose revision went backwards (a recreated bucket) is "behind" by one
            // version until the relay has applied the source's current one.
            Some(source) if source < published => 1,
            _ => 0,
        };
        if self.behind == 0 {
            self.behind_since_ms = None;
        } else if self.behind_since_ms.is_none() {
            self.behind_since_ms = Some(now_ms);
        }
    }
}

/// What a restarted relay knows about the version its channel holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    /// The channel holds this version (published before the restart).
    Holds(Record),
    /// Nothing was published in the channel yet.
    Empty,
    /// The channel holds a generation no record of this relay accounts for: the relay
    /// applies the source's current version.
    Unknown {
        /// Why the records do not account for it, for the log.
        reason: String,
    },
}

/// Decides what the channel at `generation`, whose state file is `state_file`, holds, given
/// the status file found at start (if any).
pub fn resume(status: Option<&Status>, generation: u64, state_file: FileId) -> Resume {
    if generation == 0 {
        return Resume::Empty;
    }
    let Some(status) = status else {
        return Resume::Unknown {
            reason: format!("no status file accounts for generation {generation}"),
        };
    };
    if status.state_file != Some(state_file) {
        return Resume::Unknown {
            reason: "the channel's state file is not the one the status file was written for \
                     (files recreated)"
                .into(),
        };
    }
    for record in [&status.published, &status.publishing].into_iter().flatten() {
        if record.generation == generation {
            return Resume::Holds(record.clone());
        }
    }
    Resume::Unknown {
        reason: format!(
            "channel is at generation {generation}, the status file knows generation {}",
            status.published.as_ref().map_or_else(|| "none".into(), |r| r.generation.to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(revision: u64, generation: u64) -> Record {
        Record {
            revision,
            generation,
            digest: format!("sha-256:{revision}"),
            checksum: "xxh3-64:0".into(),
            bytes: 10,
            object: format!("v{revision}"),
            source_published_at_ms: 0,
            visible_at_ms: None,
        }
    }

    const FILE: FileId = FileId { dev: 1, ino: 2 };

    fn status(published: Option<Record>, publishing: Option<Record>) -> Status {
        Status { state_file: Some(FILE), published, publishing, ..Status::default() }
    }

    #[test]
    fn a_channel_at_the_published_generation_holds_the_published_version() {
        let s = status(Some(record(7, 3)), None);
        assert_eq!(resume(Some(&s), 3, FILE), Resume::Holds(record(7, 3)));
    }

    #[test]
    fn a_crash_between_publish_and_record_resumes_at_the_version_being_published() {
        let s = status(Some(record(7, 3)), Some(record(9, 4)));
        assert_eq!(resume(Some(&s), 4, FILE), Resume::Holds(record(9, 4)));
        // A crash before the publish: the channel is still at the published generation.
        assert_eq!(resume(Some(&s), 3, FILE), Resume::Holds(record(7, 3)));
    }

    #[test]
    fn anything_the_records_do_not_explain_is_unknown() {
        let s = status(Some(record(7, 3)), Some(record(9, 4)));
        assert!(matches!(resume(Some(&s), 5, FILE), Resume::Unknown { .. }));
        assert!(matches!(resume(None, 5, FILE), Resume::Unknown { .. }));
        let other = FileId { dev: 1, ino: 3 };
        let Resume::Unknown { reason } = resume(Some(&s), 3, other) else { panic!() };
        assert!(reason.contains("recreated"), "{reason}");
    }

    #[test]
    fn an_empty_channel_is_empty_whatever_the_status_file_says() {
        let s = status(Some(record(7, 3)), None);
        assert_eq!(resume(Some(&s), 0, FILE), Resume::Empty);
    }

    #[test]
    fn lag_counts_revisions_and_remembers_since_when() {
        let mut s = status(Some(record(7, 3)), None);
        s.source_revision = Some(9);
        s.update_lag(100);
        assert_eq!((s.behind, s.behind_since_ms), (2, Some(100)));
        s.update_lag(200);
        assert_eq!(s.behind_since_ms, Some(100));
        s.published = Some(record(9, 4));
        s.update_lag(300);
        assert_eq!((s.behind, s.behind_since_ms), (0, None));
    }

    #[test]
    fn a_failed_open_is_recorded_beside_the_status_file_and_counted() {
        assert_eq!(
            cannot_open_path(Path::new("/dev/shm/chan_relay.json")),
            Path::new("/dev/shm/chan_relay.cannot_open.json")
        );
        assert_eq!(
            cannot_open_path(Path::new("/var/run/relay-status")),
            Path::new("/var/run/relay-status.cannot_open.json")
        );
        let dir = std::env::temp_dir().join(format!("relay-cannot-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (channel, status_file) = (dir.join("chan"), status_path(&dir.join("chan")));
        for reason in ["first", "second"] {
            let (source, type_name) = ("src".to_owned(), "HelloWorld".to_owned());
            Status::store_cannot_open(&status_file, &channel, source, type_name, reason.into())
                .unwrap();
        }
        let record = Status::load(&cannot_open_path(&status_file)).unwrap().unwrap();
        assert_eq!((record.state, record.pid), (State::CannotOpen, std::process::id()));
        assert_eq!(record.last_error.unwrap().message, "second");
        assert_eq!(record.counters.retries, 1, "the second attempt is the first retry");
        assert!(!status_file.exists(), "the status file is the channel writer's alone");
        clear_cannot_open(&status_file);
        assert!(!cannot_open_path(&status_file).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_file_round_trips_and_a_damaged_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("relay-status-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = status_path(&dir.join("chan"));
        assert!(path.ends_with("chan_relay.json"));
        assert_eq!(Status::load(&path).unwrap(), None);
        let s = status(Some(record(7, 3)), None);
        s.store(&path).unwrap();
        assert_eq!(Status::load(&path).unwrap(), Some(s));
        std::fs::write(&path, b"{\"format\": 1, \"pub").unwrap();
        assert!(Status::load(&path).unwrap_err().contains("not a relay status file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
