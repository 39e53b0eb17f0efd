//! A full filesystem and the size limit: a value that does not fit is an error that names the
//! file, the last published value stays readable, and the writer goes on publishing what fits.
//!
//! The full-disk tests mount a small tmpfs of their own, which needs root (or CAP_SYS_ADMIN);
//! where mounting is not allowed they report `SKIPPED:` with the reason (see
//! `mmap_sync_tests::skip`) instead of testing.

use std::path::PathBuf;

use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::channel::ChannelDir;
use mmap_sync_tests::skip;
use mmap_sync_tests::types::Stamp;
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};

/// A tmpfs of `size` bytes mounted on a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: ChannelDir,
}

impl Tmpfs {
    /// Mounts it, or reports the calling test as skipped and returns `None`.
    fn mount(name: &str, size: u64) -> Option<Tmpfs> {
        let dir = ChannelDir::new(name);
        let options = format!("size={size},mode=0755");
        let mounted = mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            MsFlags::empty(),
            Some(options.as_str()),
        );
        if let Err(errno) = mounted {
            skip::skipped(format!("cannot mount a tmpfs ({errno}); needs root or CAP_SYS_ADMIN"));
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn channel(&self, name: &str) -> PathBuf {
        self.dir.prefix(name)
    }

    /// Bytes an unprivileged file could still allocate.
    fn free(&self) -> u64 {
        let stats = nix::sys::statvfs::statvfs(self.dir.path()).expect("statvfs");
        stats.blocks_available() * stats.fragment_size()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // MNT_DETACH: the test's own mappings may still be open while it unwinds.
        let _ = umount2(self.dir.path(), MntFlags::MNT_DETACH);
    }
}

/// A stamp whose archive is about `bytes` long.
fn stamp(generation: u64, bytes: u64) -> Stamp {
    Stamp::new(generation, (bytes / 8) as usize)
}

fn assert_reads(reader: &Reader<Stamp>, generation: u64, words: usize) {
    let guard = reader.read().unwrap();
    assert_eq!(guard.generation(), generation);
    assert!(guard.is_intact(generation));
    assert_eq!(guard.words.len(), words);
}

#[test]
fn a_value_larger_than_the_free_space_is_an_io_error_naming_the_data_file_and_changes_nothing() {
    let Some(fs) = Tmpfs::mount("full-disk", 1 << 20) else { return };
    let path = fs.channel("stamp");
    let mut writer = Writer::<Stamp>::builder().copies(2).open(&path).unwrap();
    writer.write(&stamp(1, 512)).unwrap();
    let reader = Reader::<Stamp>::open(&path).unwrap();
    assert_reads(&reader, 1, 64);

    let too_big = fs.free() + (64 << 10);
    let err = writer.write(&stamp(2, too_big)).unwrap_err();
    let Error::Io { path: file, source } = &err else { panic!("expected Io: {err:?}") };
    assert_eq!(file, &writer.paths().data(1), "the error must name the data file: {err}");
    assert_eq!(source.raw_os_error(), Some(Errno::ENOSPC as i32), "{err}");
    assert_eq!(writer.generation(), 1, "a failed write must not publish");
    assert_reads(&reader, 1, 64);
    assert_reads(&Reader::<Stamp>::open(&path).unwrap(), 1, 64);

    // Something that fits still publishes, into the copy the failed write had taken.
    let fits = fs.free() / 2;
    let published = writer.write(&stamp(2, fits)).unwrap();
    assert_eq!((published.generation, published.copy), (2, 1));
    assert_reads(&reader, 2, (fits / 8) as usize);
    writer.write(&stamp(3, 512)).unwrap();
    assert_reads(&reader, 3, 64);
}

#[test]
fn a_value_that_fits_the_free_space_publishes_even_when_doubling_the_copy_would_not() {
    let Some(fs) = Tmpfs::mount("full-disk-grow", 1 << 20) else { return };
    let path = fs.channel("stamp");
    let mut writer = Writer::<Stamp>::builder().copies(2).open(&path).unwrap();
    writer.write(&stamp(1, 512)).unwrap();
    // Copy 1 ends up holding a bit more than half of what is free...
    let first = fs.free() * 11 / 20;
    assert_eq!(writer.write(&stamp(2, first)).unwrap().copy, 1);
    writer.write(&stamp(3, 512)).unwrap();
    // ... so a value somewhat larger than it fits in the rest, but twice the copy does not.
    let free = fs.free();
    let second = first + free * 4 / 5;
    assert!(2 * first > first + free, "the setup must make doubling impossible");
    let published = writer.write(&stamp(4, second)).expect("the value fits: it must publish");
    assert_eq!(published.copy, 1);
    let reader = Reader::<Stamp>::open(&path).unwrap();
    assert_reads(&reader, 4, (second / 8) as usize);
}

#[test]
fn a_value_above_max_size_is_too_large_before_anything_is_published_or_grown() {
    let dir = ChannelDir::new("too-large");
    let path = dir.prefix("stamp");
    let max_size = 64 << 10;
    let mut writer = Writer::<Stamp>::builder().copies(2).max_size(max_size).open(&path).unwrap();
    writer.write(&stamp(1, 512)).unwrap();
    writer.write(&stamp(2, 512)).unwrap();
    let sizes = |writer: &Writer<Stamp>| -> Vec<u64> {
        (0..2).map(|i| std::fs::metadata(writer.paths().data(i)).unwrap().len()).collect()
    };
    let before = sizes(&writer);

    let err = writer.write(&stamp(3, max_size + 8)).unwrap_err();
    let Error::TooLarge { size, max_size: limit, .. } = err else { panic!("{err:?}") };
    assert!(size > max_size && limit == max_size, "{size} {limit}");
    // Generation 3 would have gone to copy 0, the copy holding the older value.
    assert_eq!(err.path(), writer.paths().data(0), "names the data file: {err}");
    assert_eq!(writer.generation(), 2, "nothing published");
    assert_eq!(sizes(&writer), before, "no data file grew for a value that was refused");
    let reader = Reader::<Stamp>::open(&path).unwrap();
    assert_reads(&reader, 2, 64);

    // Just under the limit is fine.
    let published = writer.write(&stamp(3, max_size - 4096)).unwrap();
    assert_eq!(published.generation, 3);
    assert!(sizes(&writer).iter().all(|&len| len <= max_size), "{:?}", sizes(&writer));
    assert_reads(&reader, 3, ((max_size - 4096) / 8) as usize);
}
