"""Numeric lists and Vec<u8> through the buffer protocol: read-only, no copy, the bytes of the
channel's mapping; and how long a buffer keeps its generation."""

import gc

import numpy as np
import pytest

import mmap_sync


def mapped_files(address):
    """The files of /proc/self/maps whose mapping holds `address`."""
    found = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            start, end = (int(x, 16) for x in parts[0].split("-"))
            if start <= address < end and len(parts) >= 6:
                found.append(parts[5])
    return found


def test_numpy_views_the_channels_bytes_read_only_without_a_copy(channels):
    path, _ = channels.publish("weights", "weights", 64)
    with mmap_sync.Reader(path).read() as view:
        weights = np.asarray(view["weights"])
        assert weights.dtype == np.float64 and weights.shape == (8 << 20,)
        assert weights.nbytes == 64 << 20
        assert not weights.flags.writeable
        with pytest.raises(ValueError):
            weights[0] = 1.0
        # The array's memory is the data file's mapping, and a second view shares it.
        address = weights.__array_interface__["data"][0]
        assert any(f.startswith(path + "_data_") for f in mapped_files(address)), mapped_files(address)
        assert np.shares_memory(weights, np.asarray(view["weights"]))
        assert weights[12345] == 12345 * 0.5
        assert np.array_equal(weights[:1000], np.arange(1000) * 0.5)
        assert weights[-1] == (len(weights) - 1) * 0.5
        counts = np.asarray(view["counts"])
        assert counts.dtype == np.dtype("<u4") and list(counts[:5]) == [0, 1, 2, 3, 4]
        data = memoryview(view["bytes"])
        assert data.readonly and data.format == "B" and data.nbytes == 1 << 20
        assert bytes(data[:300]) == bytes(i % 251 for i in range(300))
        data.release()


def test_every_numeric_list_kind_exports_its_type(channels):
    path, _ = channels.publish("kinds", "kinds")
    with mmap_sync.Reader(path).read() as view:
        assert np.asarray(view["ints"]).tolist() == [-1, 0, 1, 2**31 - 1]
        assert np.asarray(view["ints"]).dtype == np.dtype("<i4")
        assert np.asarray(view["floats"]).tolist() == [0.5, -0.25, 1024.0]
        assert np.asarray(view["boxed_slice"]).dtype == np.dtype("<u2")
        assert np.asarray(view["array"]).tolist() == [7, 8, 9]
        assert bytes(view["bytes"]) == bytes([0, 1, 2, 127, 128, 255])
        with pytest.raises(BufferError):
            memoryview(view["nested"])  # a list of lists has no flat buffer
        with pytest.raises(BufferError):
            memoryview(view["point"])  # nor a struct


def test_a_view_used_after_its_block_raises(channels):
    path, generation = channels.publish("routing", "routing", 3)
    with mmap_sync.Reader(path).read() as view:
        routes = view["routes"]
    for use in (lambda: view["version"], lambda: routes[0], lambda: len(routes),
                lambda: view.to_python(), lambda: list(routes), lambda: memoryview(routes)):
        with pytest.raises(mmap_sync.Released) as raised:
            use()
        assert raised.value.kind == "Released"
        assert raised.value.path == path + "_state"
        assert isinstance(raised.value, mmap_sync.Error)


def test_a_guard_closed_without_a_block_ends_the_read(channels):
    path, generation = channels.publish("hello", "hello")
    guard = mmap_sync.Reader(path).read()
    view = guard.value
    assert guard.generation == generation and view["version"] == 7
    guard.close()
    assert not guard.pinned
    with pytest.raises(mmap_sync.Released):
        view["messages"]


def test_leaving_a_block_by_an_exception_releases_its_pin(channels):
    path, _ = channels.publish("hello", "hello")
    reader = mmap_sync.Reader(path)
    guard = reader.read()
    with pytest.raises(RuntimeError):
        with guard as view:
            raise RuntimeError("inside")
    assert not guard.pinned
    with pytest.raises(mmap_sync.Released):
        view["version"]


def test_a_buffer_kept_past_its_block_keeps_its_generation_and_later_reads_see_new_ones(channels):
    path = channels.path("stamps")
    stamps = channels.spawn("stamps", "stamps", 4096)
    try:
        event, fields = stamps.line()
        assert event == "ready"
        reader = mmap_sync.Reader(path)
        guard = reader.read()
        with guard as view:
            kept = np.asarray(view["words"])
            kept_generation = view["generation"]
        assert guard.pinned and guard.exports == 1
        assert np.all(kept == kept_generation)
        # The writer goes on (three copies: one pinned does not stop it), and this thread's
        # next reads serve newer generations, not the one its buffer keeps.
        newer = reader.wait_for_change(kept_generation, 10)
        assert newer is not None and newer > kept_generation
        with reader.read() as view:
            assert view["generation"] > kept_generation
        assert np.all(kept == kept_generation), "a kept buffer's bytes never change"
        del kept
        gc.collect()
        assert not guard.pinned and guard.exports == 0
    finally:
        stamps.stop()


def test_a_memoryview_released_in_the_block_leaves_nothing_pinned(channels):
    path, _ = channels.publish("kinds", "kinds")
    guard = mmap_sync.Reader(path).read()
    with guard as view:
        with memoryview(view["ints"]) as data:
            assert guard.exports == 1
            assert data.tolist() == [-1, 0, 1, 2**31 - 1]
        assert guard.exports == 0
    assert not guard.pinned
