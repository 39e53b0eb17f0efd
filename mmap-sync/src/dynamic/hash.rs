//! `HashMap` and `HashSet` as rkyv 0.8 archives them: `ArchivedHashTable`, a swiss table.
//!
//! ```text
//! ArchivedHashTable repr(C) { ptr: i32 (relative, to control byte 0), len: u32, cap: u32 }
//! memory:  [bucket cap-1] .. [bucket 1] [bucket 0] | control bytes (round_up(cap, 16) + 15)
//! ```
//!
//! Bucket `i` ends where bucket `i - 1` starts, the last one right before the control bytes;
//! an entry is `repr(C) { key, value }` (a set's value is `()`). A control byte with its high
//! bit clear marks a full bucket and holds the top 7 bits of the key's hash; `0xff` is empty.
//! Control bytes from `cap` on repeat the first ones, so that a 16-byte group read near the
//! end sees the start. A lookup starts at `hash % cap` and probes triangularly in steps of 16
//! over the next power of two above the control bytes, skipping positions past the buckets,
//! until a group holds an empty byte. An empty table has `len` and `cap` 0 and no bytes.

use std::cmp::Ordering;

use crate::schema::{ArchivedLayout, Shape};

use super::archive::DynArchive;
use super::error::DynError;
use super::key::{Key, compare, hash, probe};
use super::layout::entry_layout;
use super::value::Value;

/// rkyv's `MAX_GROUP_WIDTH`: control bytes are read 16 at a time, whatever the CPU's SIMD.
const GROUP: usize = 16;

/// An archived hash table, its header checked.
#[derive(Clone, Copy, Debug)]
pub(super) struct Table<'a> {
    archive: DynArchive<'a>,
    key: &'a Shape,
    /// The value shape of a map; `None` for a set.
    value: Option<&'a Shape>,
    len: usize,
    cap: usize,
    /// Position of control byte 0; the buckets lie before it.
    control: usize,
    entry_size: usize,
    value_offset: usize,
}

impl<'a> Table<'a> {
    /// The table at `map`, its buckets and control bytes checked to lie inside the archive,
    /// aligned for the entries, its length below its capacity (as rkyv's validation requires).
    pub(super) fn open(
        map: Value<'a>,
        key: &'a Shape,
        value: Option<&'a Shape>,
    ) -> Result<Table<'a>, DynError> {
        let archive = map.archive();
        let at = map.position();
        let value_layout = match value {
            Some(shape) => archive.layout(shape)?,
            None => ArchivedLayout { size: 0, align: 1 },
        };
        let (entry, value_offset) = entry_layout(archive.layout(key)?, value_layout)
            .ok_or_else(|| DynError::structure("", "hash table entries too large"))?;
        let len = archive.u32(at + 4)? as usize;
        let cap = archive.u32(at + 8)? as usize;
        let mut table = Table {
            archive,
            key,
            value,
            len,
            cap,
            control: 0,
            entry_size: entry.size as usize,
            value_offset: value_offset as usize,
        };
        if len == 0 && cap == 0 {
            return Ok(table);
        }
        if len >= cap {
            return Err(DynError::corrupt(format!(
                "a hash table of {len} entries in {cap} buckets (its length must be less than \
                 its capacity)"
            )));
        }
        let control = archive.target(at, archive.i32(at)?, control_count(cap) as u64, 1)?;
        let buckets = (cap as u64).checked_mul(entry.size);
        let start = buckets.and_then(|buckets| (control as u64).checked_sub(buckets));
        match start {
            None => {
                return Err(DynError::corrupt(format!(
                    "the {cap} buckets of a hash table would start before the archive"
                )));
            }
            Some(start) if !start.is_multiple_of(entry.align) => {
                return Err(DynError::corrupt(format!(
                    "the buckets of a hash table start at byte {start}, not aligned to {}",
                    entry.align
                )));
            }
            Some(_) => {}
        }
        table.control = control;
        Ok(table)
    }

    pub(super) fn archive(&self) -> DynArchive<'a> {
        self.archive
    }

    /// The length it records.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn control_bytes(&self) -> Result<&'a [u8], DynError> {
        if self.cap == 0 {
            return Ok(&[]);
        }
        self.archive.span(self.control, control_count(self.cap))
    }

    /// Bucket `index` (below `cap`): its key, and its value for a map.
    fn bucket(&self, index: usize) -> (Value<'a>, Option<Value<'a>>) {
        // `open` checked that all `cap` buckets lie before the control bytes, aligned.
        let position = self.control - (index + 1) * self.entry_size;
        let key = Value::new(self.archive, self.key, position);
        let value =
            self.value.map(|shape| Value::new(self.archive, shape, position + self.value_offset));
        (key, value)
    }

    /// The entry whose key equals `key`, probed as rkyv's `get` does.
    pub(super) fn get(
        &self,
        key: Key<'_>,
    ) -> Result<Option<(Value<'a>, Option<Value<'a>>)>, DynError> {
        let Some(probe) = probe(self.archive.structure(), self.key, key)? else {
            return Ok(None);
        };
        if self.len == 0 {
            return Ok(None);
        }
        let control = self.control_bytes()?;
        let hash = hash(&probe);
        let h2 = (hash >> 57) as u8;
        let cap = self.cap;
        let probe_cap = cap.next_multiple_of(GROUP);
        let mask = control.len().next_power_of_two() - 1;
        // The triangular sequence visits every multiple of 16 below `mask + 1` once in
        // `(mask + 1) / 16` moves: a table without an empty byte on the way is refused then.
        let mut moves_left = (mask + 1) / GROUP + 1;
        let mut position = (hash % cap as u64) as usize;
        let mut stride = 0;
        loop {
            let group = control.get(position..position + GROUP).ok_or_else(|| {
                DynError::corrupt("a hash table probe ran past its control bytes")
            })?;
            let mut any_empty = false;
            for (bit, &byte) in group.iter().enumerate() {
                if byte == h2 {
                    let (k, v) = self.bucket((position + bit) % cap);
                    if compare(&probe, k)? == Ordering::Equal {
                        return Ok(Some((k, v)));
                    }
                }
                any_empty |= byte & 0x80 != 0;
            }
            if any_empty {
                return Ok(None);
            }
            loop {
                if moves_left == 0 {
                    return Err(DynError::corrupt(
                        "a hash table without an empty control byte on the probe sequence",
                    ));
                }
                moves_left -= 1;
                stride += GROUP;
                position = (position + stride) & mask;
                if position < probe_cap {
                    break;
                }
            }
        }
    }

    /// rkyv's validation of the table beyond its header: exactly `len` full buckets, and the
    /// control bytes after `cap` repeating the first ones.
    pub(super) fn check(&self) -> Result<(), DynError> {
        let control = self.control_bytes()?;
        let full = control.iter().take(self.cap).filter(|&&byte| byte & 0x80 == 0).count();
        if full != self.len {
            return Err(DynError::corrupt(format!(
                "a hash table with {full} full buckets records a length of {}",
                self.len
            )));
        }
        let cap = self.cap;
        for i in cap..(2 * cap).min(control.len().saturating_sub(cap)) {
            if control[i] != control[i % cap] {
                return Err(DynError::corrupt(format!(
                    "control byte {i} of a hash table does not repeat byte {}",
                    i % cap
                )));
            }
        }
        Ok(())
    }

    /// How many buckets a full scan looks at.
    pub(super) fn capacity(&self) -> usize {
        self.cap
    }

    /// The full buckets in storage order, at most `len` of them.
    pub(super) fn iter(self) -> TableIter<'a> {
        TableIter { table: self, next: 0, left: self.len, done: false }
    }
}

/// How many control bytes a table of `cap` buckets has.
fn control_count(cap: usize) -> usize {
    cap.next_multiple_of(GROUP) + GROUP - 1
}

/// The entries of a [`Table`], as rkyv's iterator yields them.
#[derive(Clone, Debug)]
pub(super) struct TableIter<'a> {
    table: Table<'a>,
    next: usize,
    left: usize,
    done: bool,
}

impl<'a> Iterator for TableIter<'a> {
    type Item = Result<(Value<'a>, Option<Value<'a>>), DynError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.left == 0 {
            return None;
        }
        let control = match self.table.control_bytes() {
            Ok(control) => control,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        while self.next < self.table.cap {
            let index = self.next;
            self.next += 1;
            if control.get(index).is_some_and(|&byte| byte & 0x80 == 0) {
                self.left -= 1;
                return Some(Ok(self.table.bucket(index)));
            }
        }
        self.done = true;
        Some(Err(DynError::corrupt(format!(
            "a hash table holds fewer full buckets than its length of {}",
            self.table.len
        ))))
    }
}
