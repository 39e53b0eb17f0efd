//! `Reader`: a channel opened without its Rust type, through the structure it records. One
//! per process, shared by its threads, like the Rust `Reader`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mmap_sync::dynamic::DynReader;
use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::channel::Channel;
use crate::errors;
use crate::guard::ReadGuard;
use crate::pin::{self, Lane, Pin, ReadError, ThreadExit};
use crate::view::View;

/// Most `DynReader`s ("lanes") one `Reader` opens: one, plus one for each generation that
/// buffers keep pinned past their `with` block on a thread that reads again.
const MAX_LANES: usize = 8;

/// How long a wait sleeps at most before it looks for a signal (Ctrl-C) to raise.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

static NEXT_READER: AtomicU64 = AtomicU64::new(1);

/// A reader of the channel at `path`, for any thread of this process.
#[pyclass(module = "mmap_sync", frozen)]
#[allow(missing_debug_implementations)] // Python shows it by `__repr__`.
pub struct Reader {
    id: u64,
    /// Lane 0 is opened by `Reader(path)`; the others when a thread needs them.
    lanes: Mutex<Vec<Arc<DynReader>>>,
    channel: Arc<Channel>,
}

impl Reader {
    fn first(&self) -> Arc<DynReader> {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())[0].clone()
    }

    /// The lane this thread reads on: the first without a lingering pin of this thread.
    fn lane(&self, py: Python<'_>) -> PyResult<(Arc<DynReader>, Lane)> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        for index in 0..MAX_LANES {
            let lane = Lane { reader: self.id, index };
            if pin::lingering_on(lane) {
                continue;
            }
            if index == lanes.len() {
                let opened = DynReader::open(&self.channel.prefix)
                    .map_err(|e| errors::from_runtime(py, &e))?;
                lanes.push(Arc::new(opened));
            }
            return Ok((lanes[index].clone(), lane));
        }
        Err(PyBufferError::new_err(format!(
            "this thread keeps buffers of {MAX_LANES} earlier reads of {} alive past their \
             `with` blocks, each pinning a generation: release them, or copy what you keep \
             (numpy.array(view) instead of numpy.asarray(view))",
            self.channel.display_path()
        )))
    }
}

/// Registers this thread's [`ThreadExit`] in a `threading.local()` once, so that pins parked
/// for it are dropped when it ends.
fn register_thread(py: Python<'_>) -> PyResult<()> {
    thread_local! {
        static REGISTERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if REGISTERED.with(|r| r.get()) {
        return Ok(());
    }
    static LOCAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let local = LOCAL.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("threading")?.getattr("local")?.call0()?.unbind())
    })?;
    local.bind(py).setattr("exit", Py::new(py, ThreadExit::new())?)?;
    REGISTERED.with(|r| r.set(true));
    Ok(())
}

#[pymethods]
impl Reader {
    /// Opens the channel at `path` (its prefix, as the writer's `Writer::open` took it).
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Reader> {
        let opened =
            py.detach(|| DynReader::open(&path)).map_err(|e| errors::from_runtime(py, &e))?;
        let state_path = mmap_sync::ChannelPaths::new(&path).state;
        Ok(Reader {
            id: NEXT_READER.fetch_add(1, Ordering::Relaxed),
            lanes: Mutex::new(vec![Arc::new(opened)]),
            channel: Arc::new(Channel { prefix: path, state_path }),
        })
    }

    /// Pins the newest validated generation: a context manager whose `with` block gives the
    /// view of the whole value (`with reader.read() as view: ...`).
    fn read(&self, py: Python<'_>) -> PyResult<ReadGuard> {
        register_thread(py)?;
        let (reader, lane) = self.lane(py)?;
        match Pin::read(&reader, lane) {
            Ok((pin, root)) => Ok(ReadGuard::new(self.channel.clone(), pin, root)),
            Err(ReadError::Runtime(err)) => Err(errors::from_runtime(py, &err)),
            Err(ReadError::Value(err)) => Err(errors::from_dyn(py, &err, &self.channel.state_path)),
        }
    }

    /// The newest published generation (one atomic load; 0 before the first publish).
    #[getter]
    fn generation(&self) -> u64 {
        self.first().generation()
    }

    /// The newest generation this process has validated, which a read serves.
    #[getter]
    fn validated_generation(&self) -> u64 {
        self.first().validated_generation()
    }

    /// Blocks until a generation newer than `since` is published, or `timeout_seconds` pass
    /// (`None` or `math.inf`: no limit). Returns the new generation, or `None` on timeout. Other Python
    /// threads run meanwhile (the GIL is released), and Ctrl-C interrupts it.
    #[pyo3(signature = (since, timeout_seconds=None))]
    fn wait_for_change(
        &self,
        py: Python<'_>,
        since: u64,
        timeout_seconds: Option<f64>,
    ) -> PyResult<Option<u64>> {
        let deadline = match timeout_seconds {
            None => None,
            Some(s) if s == f64::INFINITY => None,
            Some(s) if s.is_finite() && s >= 0.0 => {
                Some(Instant::now() + Duration::from_secs_f64(s.min(1e9)))
            }
            Some(s) => {
                return Err(PyValueError::new_err(format!(
                    "timeout_seconds must be >= 0, not {s}"
                )));
            }
        };
        let reader = self.first();
        loop {
            let slice = match deadline {
                None => SIGNAL_CHECK,
                Some(deadline) => {
                    deadline.saturating_duration_since(Instant::now()).min(SIGNAL_CHECK)
                }
            };
            let result = py.detach(|| reader.wait_for_change(since, slice));
            match result {
                Ok(Some(generation)) => return Ok(Some(generation)),
                Ok(None) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(None),
                Ok(None) => py.check_signals()?,
                Err(err) => return Err(errors::from_runtime(py, &err)),
            }
        }
    }

    /// Whether the channel's files were replaced by a new set: this reader keeps serving its
    /// last value; open a new `Reader` to follow the channel.
    #[getter]
    fn is_superseded(&self) -> bool {
        self.first().is_superseded()
    }

    /// The newest generation that failed validation (and no newer one validated since), as
    /// the exception a read of it would raise, with its `generation`; `None` otherwise.
    #[getter]
    fn last_failure(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let Some(failure) = self.first().last_failure() else { return Ok(None) };
        let err = errors::from_runtime(py, &failure.error);
        let value = err.value(py);
        value.setattr("generation", failure.generation)?;
        Ok(Some(value.clone().into_any().unbind()))
    }

    /// The structure the channel records, as a table (each type once: field, type, offset,
    /// size, alignment).
    #[getter]
    fn structure(&self) -> String {
        self.first().structure().to_string()
    }

    /// The channel's prefix.
    #[getter]
    fn path(&self) -> String {
        self.channel.display_path()
    }

    fn __repr__(&self) -> String {
        format!("<mmap_sync.Reader {}>", self.channel.display_path())
    }
}

/// The `with` block as Python sees it: its state and rules are in [`crate::guard`].
#[pymethods]
impl ReadGuard {
    /// The view of the whole value.
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Py<View>> {
        let py = slf.py();
        let guard = slf.get();
        let access = guard.access(py)?;
        let root = guard.root.get(&access);
        View::root(py, slf.clone().unbind(), root)
    }

    fn __exit__(
        &self,
        _kind: Option<&Bound<'_, PyType>>,
        _value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        self.end();
        false
    }

    /// Ends the read without a `with` block: views raise afterwards; the generation stays
    /// pinned while buffers exported from it live.
    fn close(&self) {
        self.end();
    }

    /// The view of the whole value, as `__enter__` gives it (for use without `with`).
    #[getter]
    fn value(slf: Bound<'_, Self>) -> PyResult<Py<View>> {
        Self::__enter__(slf)
    }

    /// The generation this read serves.
    #[getter]
    fn generation(&self) -> u64 {
        self.generation_number()
    }

    /// Whether the pin is still held (the block open, or buffers alive).
    #[getter]
    fn pinned(&self) -> bool {
        self.lock().pin.is_some()
    }

    /// Buffers exported from this read's views and not yet released.
    #[getter]
    fn exports(&self) -> usize {
        self.lock().exports
    }

    fn __repr__(&self) -> String {
        let state = self.lock();
        let what = if state.open {
            "open"
        } else if state.pin.is_some() {
            "ended, pinned by buffers"
        } else {
            "ended"
        };
        format!(
            "<mmap_sync.ReadGuard {} generation {} ({what})>",
            self.channel.display_path(),
            self.generation_number()
        )
    }
}
