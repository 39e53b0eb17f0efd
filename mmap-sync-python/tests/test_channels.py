"""Channels that cannot be read as asked, and hostile files: exceptions, never a crash."""

import os
import subprocess
import sys
import textwrap

import pytest

import mmap_sync


def test_a_path_where_nothing_was_published_raises_not_published(channels):
    path = channels.path("nothing")
    with pytest.raises(mmap_sync.NotPublished) as raised:
        mmap_sync.Reader(path)
    assert raised.value.kind == "NotPublished"
    assert raised.value.path == path + "_state"


def test_a_channel_created_but_never_published_raises_not_published_on_read(channels):
    path, _ = channels.publish("empty", "empty")
    reader = mmap_sync.Reader(path)
    assert reader.generation == 0
    with pytest.raises(mmap_sync.NotPublished):
        reader.read()
    assert reader.wait_for_change(0, 0.05) is None


def test_a_channel_without_a_recorded_structure_raises_no_structure(channels):
    path, _ = channels.publish("no-structure", "facade")
    with pytest.raises(mmap_sync.NoStructure) as raised:
        mmap_sync.Reader(path)
    assert raised.value.kind == "NoStructure"
    assert raised.value.path == path + "_state"
    assert "UpstreamHello" in str(raised.value)


def test_a_replaced_channel_raises_superseded_and_keeps_its_last_value(channels):
    path, generation = channels.publish("hello", "hello")
    reader = mmap_sync.Reader(path)
    for name in os.listdir(channels.dir):
        if name.startswith("hello_"):
            os.remove(os.path.join(channels.dir, name))
    channels.publish("hello", "hello")
    with pytest.raises(mmap_sync.Superseded) as raised:
        reader.wait_for_change(generation, 10)
    assert raised.value.kind == "Superseded"
    assert reader.is_superseded
    with reader.read() as view:
        assert view["version"] == 7
    with mmap_sync.Reader(path).read() as view:
        assert view["messages"][0] == "Hello"


@pytest.mark.parametrize("case", ["length", "pointer", "utf8"])
def test_a_damaged_archive_behind_a_valid_checksum_raises_corrupt(channels, case):
    path, _ = channels.publish("hostile-archive", case, case)
    reader = mmap_sync.Reader(path)
    with reader.read() as view:
        assert view["version"] == 7, "the root's own fields are intact"
        with pytest.raises(mmap_sync.Corrupt) as raised:
            view.to_python()
        assert raised.value.kind == "Corrupt"
        assert raised.value.path == path + "_state"
        assert raised.value.field.startswith("messages"), raised.value.field
        with pytest.raises(mmap_sync.Corrupt):
            [str(message) for message in view["messages"]]


def run_isolated(code):
    """Runs `code` in a child interpreter, so that a crash fails the test instead of pytest."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


EXPLORE = """
import sys
import mmap_sync

def explore(value, depth=0):
    # Every lazy operation, on every part: each raises or answers.
    if depth > 6 or not isinstance(value, mmap_sync.View):
        return
    for op in (len, list, lambda v: v.keys(), lambda v: v.items(), lambda v: v.to_python(),
               lambda v: bytes(memoryview(v))):
        try:
            op(value)
        except (mmap_sync.Error, KeyError, IndexError, TypeError, BufferError):
            pass
    try:
        parts = list(value.values()) if value.kind in ("struct", "map", "enum") else list(value)
    except (mmap_sync.Error, KeyError, IndexError, TypeError):
        return
    for part in parts[:50]:
        explore(part, depth + 1)

outcomes = []
for path in sys.argv[1:] or PATHS:
    try:
        reader = mmap_sync.Reader(path)
        with reader.read() as view:
            explore(view)
            view.to_python()
        outcomes.append("ok")
    except mmap_sync.Error as error:
        outcomes.append(error.kind)
print(" ".join(outcomes))
"""


def test_archives_with_random_damage_give_values_or_exceptions_never_a_crash(channels):
    paths = [channels.publish("hostile-archive", f"flip{seed}", f"flip:{seed}")[0] for seed in range(40)]
    outcomes = run_isolated(f"PATHS = {paths!r}\n" + EXPLORE).split()
    assert len(outcomes) == 40
    assert set(outcomes) <= {"ok", "Corrupt", "Limit"}, outcomes
    assert "Corrupt" in outcomes, "some damage is found"


def test_structures_with_random_damage_give_values_or_exceptions_never_a_crash(channels):
    paths = [channels.publish("hostile-description", f"desc{seed}", seed)[0] for seed in range(40)]
    outcomes = run_isolated(f"PATHS = {paths!r}\n" + EXPLORE).split()
    assert len(outcomes) == 40
    assert "ok" != outcomes[0] or len(set(outcomes)) >= 1
    assert set(outcomes) <= {"ok", "Corrupt", "Limit", "SchemaMismatch"}, outcomes
