//! The on-disk spool: where accepted shares and found blocks go while the database is unreachable,
//! so a share can still be acknowledged only once it is durable.
//!
//! * Append-only segment files (`spool-<first ms>-<seq>.seg`) in `dir`. A record is
//!   `"TSP1" ‖ len (u32 LE) ‖ CRC-32 of the payload (u32 LE) ‖ payload (JSON)`; every append is
//!   followed by `fdatasync` before the miners hear "accepted".
//! * A record cut short by a crash (it was never synced, so never acknowledged) ends the segment
//!   quietly; a record whose checksum is wrong in the middle of a segment is corruption: replay stops
//!   there, keeps the file and says so.
//! * Replay ([`Spool::take_segments`]) hands over whole closed segments, oldest first; the caller
//!   deletes a segment only after every record in it is in the database. Records carry the unique
//!   share ids, so a segment replayed twice (a crash between commit and delete) changes nothing.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: &[u8; 4] = b"TSP1";
/// A segment is closed (and a new one started) past this size.
const SEGMENT_BYTES: u64 = 64 << 20;
/// Largest record accepted when reading (a larger length field is corruption).
const MAX_RECORD: u32 = 256 << 20;

/// One spooled accepted share (plain data: the spool outlives any in-memory type).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SpooledShare {
    pub share_id: String,
    pub address: String,
    pub worker: String,
    pub scheme: String,
    pub difficulty: String,
    pub network_difficulty: String,
    pub height: u64,
    pub job_id: String,
    pub hash: String,
    pub is_block: bool,
    pub submitted_ms: u64,
}

/// One spooled block candidate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SpooledBlock {
    pub block_id: String,
    pub height: u64,
    pub template_hex: String,
    pub miner_work_hex: String,
    pub address: String,
    pub worker: String,
    pub scheme: String,
    pub network_difficulty: String,
    pub found_ms: u64,
}

/// What the spool holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum SpoolRecord {
    Batch {
        shares: Vec<SpooledShare>,
        blocks: Vec<SpooledBlock>,
    },
    /// A block submission's outcome: `accepted` or not, with the node's words.
    BlockOutcome {
        block_id: String,
        accepted: bool,
        note: String,
    },
}

/// Why a segment could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool I/O on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("spool segment {path} is corrupt at byte {offset}: {reason}; it is kept for inspection")]
    Corrupt { path: PathBuf, offset: u64, reason: String },
}

struct Open {
    file: File,
    path: PathBuf,
    bytes: u64,
}

/// The spool directory.
pub struct Spool {
    dir: PathBuf,
    current: Mutex<Option<Open>>,
    seq: AtomicU64,
    /// Records appended and not yet replayed (this process's count; the files are the truth).
    pending: AtomicU64,
}

impl Spool {
    /// Opens (creating) `dir`; segments left by an earlier run are found and counted.
    pub fn open(dir: &Path) -> Result<Spool, SpoolError> {
        let io = |source| SpoolError::Io { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let spool = Spool {
            dir: dir.to_owned(),
            current: Mutex::new(None),
            seq: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        };
        let mut records = 0u64;
        let mut next_seq = 0u64;
        for seg in spool.segments()? {
            records += read_segment(&seg).map(|r| r.len() as u64).unwrap_or(1);
            // New segments sort after the old ones even within the same millisecond.
            let seq = seg.file_stem().and_then(|n| n.to_str()?.rsplit('-').next()?.parse::<u64>().ok());
            next_seq = next_seq.max(seq.map_or(0, |n| n + 1));
        }
        spool.seq.store(next_seq, Ordering::SeqCst);
        spool.pending.store(records, Ordering::SeqCst);
        Ok(spool)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records appended but not yet replayed.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::SeqCst)
    }

    /// Appends `record` and makes it durable (blocking I/O: call from a blocking thread).
    pub fn append(&self, record: &SpoolRecord) -> Result<(), SpoolError> {
        let payload = serde_json::to_vec(record).expect("spool records serialize");
        let mut frame = Vec::with_capacity(payload.len() + 12);
        frame.extend_from_slice(MAGIC);
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        frame.extend_from_slice(&payload);
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|o| o.bytes >= SEGMENT_BYTES) {
            *current = Some(self.new_segment()?);
        }
        let open = current.as_mut().expect("just opened");
        let io = |source| SpoolError::Io { path: open.path.clone(), source };
        open.file.write_all(&frame).map_err(io)?;
        open.file.sync_data().map_err(io)?;
        open.bytes += frame.len() as u64;
        self.pending.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn new_segment(&self) -> Result<Open, SpoolError> {
        let (file, path) = loop {
            let name = format!(
                "spool-{:013}-{:06}.seg",
                crate::clock::now_ms(),
                self.seq.fetch_add(1, Ordering::SeqCst)
            );
            let path = self.dir.join(name);
            match OpenOptions::new().create_new(true).append(true).open(&path) {
                Ok(file) => break (file, path),
                // Another process's segment, or the clock stepped back: the next number.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(SpoolError::Io { path, source }),
            }
        };
        let io = |source| SpoolError::Io { path: path.clone(), source };
        // The new name must survive a crash too.
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(Open { file, path, bytes: 0 })
    }

    /// Every segment on disk, oldest first (names sort by time).
    pub fn segments(&self) -> Result<Vec<PathBuf>, SpoolError> {
        let io = |source| SpoolError::Io { path: self.dir.clone(), source };
        let mut segs: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "seg"))
            .collect();
        segs.sort();
        Ok(segs)
    }

    /// Closes the segment being written and returns every segment for replay, oldest first.
    pub fn take_segments(&self) -> Result<Vec<PathBuf>, SpoolError> {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.segments()
    }

    /// A replayed segment is gone for good.
    pub fn remove(&self, segment: &Path, records: u64) -> Result<(), SpoolError> {
        let io = |source| SpoolError::Io { path: segment.to_owned(), source };
        std::fs::remove_file(segment).map_err(io)?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io)?;
        let _ = self
            .pending
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| Some(p.saturating_sub(records)));
        Ok(())
    }
}

/// Reads every complete record of a segment.
pub fn read_segment(path: &Path) -> Result<Vec<SpoolRecord>, SpoolError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|source| SpoolError::Io { path: path.to_owned(), source })?;
    let corrupt = |offset: usize, reason: &str| SpoolError::Corrupt {
        path: path.to_owned(),
        offset: offset as u64,
        reason: reason.to_owned(),
    };
    let mut records = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 12 {
            break; // a torn header: never synced, never acknowledged
        }
        if &rest[..4] != MAGIC {
            return Err(corrupt(at, "bad record marker"));
        }
        let len = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(rest[8..12].try_into().expect("4 bytes"));
        if len > MAX_RECORD {
            return Err(corrupt(at, "record length out of range"));
        }
        let Some(payload) = rest.get(12..12 + len as usize) else {
            break; // a torn payload at the end
        };
        if crc32fast::hash(payload) != crc {
            let last = at + 12 + len as usize == bytes.len();
            if last {
                break; // a torn final write
            }
            return Err(corrupt(at, "checksum mismatch"));
        }
        let record =
            serde_json::from_slice(payload).map_err(|e| corrupt(at, &format!("undecodable record: {e}")))?;
        records.push(record);
        at += 12 + len as usize;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: u64) -> SpoolRecord {
        SpoolRecord::Batch {
            shares: vec![SpooledShare {
                share_id: format!("{n:064x}"),
                address: "tst1…".into(),
                worker: "rig".into(),
                scheme: "pplns".into(),
                difficulty: "1000".into(),
                network_difficulty: "5000".into(),
                height: n,
                job_id: "j".into(),
                hash: "00".repeat(32),
                is_block: false,
                submitted_ms: n,
            }],
            blocks: vec![],
        }
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "tos-pool-spool-{name}-{}-{}",
            std::process::id(),
            crate::clock::now_ms()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn records_survive_a_reopen_in_order_and_are_removed_once_replayed() {
        let d = dir("order");
        let s = Spool::open(&d).unwrap();
        for n in 0..5 {
            s.append(&batch(n)).unwrap();
        }
        assert_eq!(s.pending(), 5);
        drop(s);
        let s = Spool::open(&d).unwrap();
        assert_eq!(s.pending(), 5, "counted again after a restart");
        s.append(&batch(5)).unwrap();
        let segs = s.take_segments().unwrap();
        let all: Vec<SpoolRecord> = segs.iter().flat_map(|p| read_segment(p).unwrap()).collect();
        assert_eq!(all, (0..6).map(batch).collect::<Vec<_>>());
        for p in &segs {
            let n = read_segment(p).unwrap().len() as u64;
            s.remove(p, n).unwrap();
        }
        assert_eq!(s.pending(), 0);
        assert!(s.segments().unwrap().is_empty());
    }

    #[test]
    fn a_reopened_spool_never_reuses_a_segment_name() {
        // Found by CI: a reopen within the millisecond of the first segment collided with its name.
        let d = dir("reopen");
        let s = Spool::open(&d).unwrap();
        s.append(&batch(0)).unwrap();
        drop(s);
        for n in 1..20 {
            let s = Spool::open(&d).unwrap();
            s.append(&batch(n)).unwrap();
        }
        let s = Spool::open(&d).unwrap();
        let all: Vec<SpoolRecord> =
            s.take_segments().unwrap().iter().flat_map(|p| read_segment(p).unwrap()).collect();
        assert_eq!(all, (0..20).map(batch).collect::<Vec<_>>(), "every record, in order");
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_corruption_in_the_middle_is_an_error() {
        let d = dir("torn");
        let s = Spool::open(&d).unwrap();
        s.append(&batch(1)).unwrap();
        s.append(&batch(2)).unwrap();
        let seg = s.take_segments().unwrap().pop().unwrap();
        let full = std::fs::read(&seg).unwrap();
        // A crash in the middle of the third write: the first two are intact.
        let mut torn = full.clone();
        torn.extend_from_slice(&full[..20]);
        std::fs::write(&seg, &torn).unwrap();
        assert_eq!(read_segment(&seg).unwrap(), vec![batch(1), batch(2)]);
        // A flipped byte inside the first record: corruption, reported with its offset.
        let mut bad = full.clone();
        bad[14] ^= 0x20;
        std::fs::write(&seg, &bad).unwrap();
        let e = read_segment(&seg).unwrap_err();
        assert!(matches!(e, SpoolError::Corrupt { offset: 0, .. }), "{e}");
        assert!(e.to_string().contains("kept for inspection"));
    }
}
