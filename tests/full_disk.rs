//! A full filesystem and the size limit: a value that does not fit is an error that names the
//! file, the last published value stays readable, and the writer goes on publishing what fits.
//!
//! The full-disk tests mount a small tmpfs of their own (root or CAP_SYS_ADMIN); where mounting
//! is not allowed they print why and pass without testing.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use mmap_sync::{Error, Reader, Writer};
use mmap_sync_tests::{Stamp, TempDir};

/// A tmpfs of `size` bytes mounted on a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    fn mount(name: &str, size: u64) -> Option<Tmpfs> {
        let dir = TempDir::new(name);
        let target = CString::new(dir.path().as_os_str().as_encoded_bytes()).unwrap();
        let options = CString::new(format!("size={size},mode=0755")).unwrap();
        // SAFETY: every pointer is a NUL-terminated string that outlives the call.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                options.as_ptr().cast(),
            )
        };
        if rc != 0 {
            eprintln!(
                "skipped: cannot mount a tmpfs ({}); run as root or with CAP_SYS_ADMIN",
                std::io::Error::last_os_error()
            );
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn channel(&self, name: &str) -> PathBuf {
        self.dir.channel(name)
    }

    /// Bytes an unprivileged file could still allocate.
    fn free(&self) -> u64 {
        free_bytes(self.dir.path())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = CString::new(self.dir.path().as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path that outlives the call. MNT_DETACH: the test's own
        // mappings may still be open while it unwinds.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

fn free_bytes(path: &Path) -> u64 {
    let name = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: statvfs is a plain C struct; all-zero is valid, and it outlives the call.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a valid out-pointer.
    assert_eq!(unsafe { libc::statvfs(name.as_ptr(), &mut stats) }, 0);
    stats.f_bavail * stats.f_frsize
}

/// A stamp whose archive is about `bytes` long.
fn stamp(generation: u64, bytes: u64) -> Stamp {
    Stamp::new(generation, (bytes / 8) as usize)
}

fn assert_reads(reader: &mut Reader<Stamp>, generation: u64, words: usize) {
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
    let mut reader = Reader::<Stamp>::open(&path).unwrap();
    assert_reads(&mut reader, 1, 64);

    let too_big = fs.free() + (64 << 10);
    let err = writer.write(&stamp(2, too_big)).unwrap_err();
    let Error::Io { path: file, source } = &err else { panic!("expected Io: {err:?}") };
    assert_eq!(file, &writer.paths().data(1), "the error must name the data file: {err}");
    assert_eq!(source.raw_os_error(), Some(libc::ENOSPC), "{err}");
    assert_eq!(writer.generation(), 1, "a failed write must not publish");
    assert_reads(&mut reader, 1, 64);
    assert_reads(&mut Reader::<Stamp>::open(&path).unwrap(), 1, 64);

    // Something that fits still publishes, into the copy the failed write had taken.
    let fits = fs.free() / 2;
    let published = writer.write(&stamp(2, fits)).unwrap();
    assert_eq!((published.generation, published.copy), (2, 1));
    assert_reads(&mut reader, 2, (fits / 8) as usize);
    writer.write(&stamp(3, 512)).unwrap();
    assert_reads(&mut reader, 3, 64);
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
    let mut reader = Reader::<Stamp>::open(&path).unwrap();
    assert_reads(&mut reader, 4, (second / 8) as usize);
}

#[test]
fn a_value_above_max_size_is_too_large_before_anything_is_published_or_grown() {
    let dir = TempDir::new("too-large");
    let path = dir.channel("stamp");
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
    assert!(err.path().to_str().unwrap().contains("_data_"), "names a data file: {err}");
    assert_eq!(writer.generation(), 2, "nothing published");
    assert_eq!(sizes(&writer), before, "no data file grew for a value that was refused");
    let mut reader = Reader::<Stamp>::open(&path).unwrap();
    assert_reads(&mut reader, 2, 64);

    // Just under the limit is fine.
    let published = writer.write(&stamp(3, max_size - 4096)).unwrap();
    assert_eq!(published.generation, 3);
    assert!(sizes(&writer).iter().all(|&len| len <= max_size), "{:?}", sizes(&writer));
    assert_reads(&mut reader, 3, ((max_size - 4096) / 8) as usize);
}
