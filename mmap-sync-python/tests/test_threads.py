"""One Reader shared by Python threads while a writer publishes without pause; waiting for a
change without holding the GIL."""

import math
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import mmap_sync


def test_threads_sharing_one_reader_never_see_a_torn_value(channels):
    path = channels.path("stamps")
    writer = channels.spawn("stamps", "stamps", 16384)
    try:
        assert writer.line()[0] == "ready"
        reader = mmap_sync.Reader(path)
        stop = time.monotonic() + 2.0
        results = {}

        def read(name):
            # A thread that raises leaves no result: the test fails below.
            reads = torn = backwards = 0
            seen = set()
            last = 0
            while time.monotonic() < stop:
                with reader.read() as view:
                    generation = view["generation"]
                    words = np.asarray(view["words"])
                    # Every word of a stamp is its generation: a copy being rewritten would
                    # show others.
                    if words.shape != (16384,) or not np.all(words == generation):
                        torn += 1
                    if view.generation != generation:
                        torn += 1
                    del words
                if generation < last:
                    backwards += 1
                last = generation
                seen.add(generation)
                reads += 1
            results[name] = (reads, torn, backwards, len(seen))

        threads = [threading.Thread(target=read, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        last = writer.stop()
    assert last[0] == "stopped" and int(last[1]["published"]) > 10
    assert sorted(results) == [0, 1, 2, 3], "a reading thread failed (see its exception above)"
    for name, (reads, torn, backwards, distinct) in results.items():
        assert torn == 0 and backwards == 0, results
        assert reads > 100 and distinct > 5, results


def test_wait_for_change_returns_the_new_generation_and_lets_other_threads_run(channels):
    path = channels.path("lines")
    writer = channels.spawn("publish-lines", "lines")
    try:
        writer.send("1")
        assert writer.line() == ("published", {"generation": "1"})
        reader = mmap_sync.Reader(path)
        assert reader.wait_for_change(1, 0.05) is None, "nothing new: a timeout"
        assert reader.wait_for_change(0, 5) == 1, "already newer: at once"
        assert reader.wait_for_change(0, math.inf) == 1, "no limit is a timeout too"
        for bad in (-1.0, math.nan, -math.inf):
            with pytest.raises(ValueError, match="timeout_seconds"):
                reader.wait_for_change(1, bad)

        woke = []
        waiter = threading.Thread(
            target=lambda: woke.append(reader.wait_for_change(1, math.inf)), daemon=True
        )
        waiter.start()
        # While the waiter waits, this thread runs Python code: the wait released the GIL.
        spins = 0
        until = time.monotonic() + 0.5
        while time.monotonic() < until:
            spins += 1
        assert waiter.is_alive() and not woke
        assert spins > 10_000, spins
        writer.send("2")
        waiter.join(30)
        assert woke == [2]
        with reader.read() as view:
            assert view.to_python() == {"version": 2, "messages": ["version 2"]}
    finally:
        writer.stop()


def test_a_buffer_released_on_another_thread_gives_its_pin_back_to_its_thread(channels):
    path, _ = channels.publish("kinds", "kinds")
    reader = mmap_sync.Reader(path)
    handed = []
    guards = []

    def keep_buffer():
        # Reads, keeps a buffer past the block, and ends: the pin belongs to this thread.
        guard = reader.read()
        with guard as view:
            handed.append(np.asarray(view["ints"]))
        guards.append(guard)

    thread = threading.Thread(target=keep_buffer)
    thread.start()
    thread.join()
    (guard,) = guards
    assert guard.pinned
    array = handed.pop()
    assert array.tolist() == [-1, 0, 1, 2**31 - 1]
    del array  # released on another thread than the one that read (which has ended)
    assert not guard.pinned
    # Reads on this thread and on new ones go on.
    with reader.read() as view:
        assert view["small"] == 255
    other = threading.Thread(target=lambda: handed.append(reader.read().value["word"]))
    other.start()
    other.join()
    assert handed == [2**32 - 1]


def test_ctrl_c_interrupts_a_wait_without_a_limit(channels):
    path, generation = channels.publish("hello", "hello")
    # Python installs its Ctrl-C handler only where SIGINT is not ignored at startup, and a
    # process started in the background by a shell inherits it ignored: install it, as an
    # interactive program has it.
    code = f"""
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
import mmap_sync
reader = mmap_sync.Reader({path!r})
print("waiting", flush=True)
try:
    reader.wait_for_change({generation}, None)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=10)
    finally:
        child.kill()
    assert out.strip() == "interrupted" and child.returncode == 0
