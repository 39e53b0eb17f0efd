"""Shared helpers: a private channel directory per test and the Rust writer process.

The writer is the ``python_fixture`` program of the workspace's ``mmap-sync-tests`` package
(``tests/src/bin/python_fixture``); ``cargo test`` builds it and names it in
``MMAP_SYNC_PYTHON_FIXTURE``. Run by hand::

    cargo build -p mmap-sync-tests --bin python_fixture
    MMAP_SYNC_PYTHON_FIXTURE=target/debug/python_fixture pytest mmap-sync-python/tests
"""

import json
import os
import shutil
import subprocess
import tempfile

import pytest


def fixture_program():
    program = os.environ.get("MMAP_SYNC_PYTHON_FIXTURE")
    if not program:
        pytest.fail("MMAP_SYNC_PYTHON_FIXTURE names no writer program (see conftest.py)")
    return program


def parse_line(line):
    """A report line of the writer: ``event key=value ...`` -> (event, {key: value})."""
    event, *fields = line.split()
    return event, dict(field.split("=", 1) for field in fields)


class Channels:
    """A directory of channels for one test, on /dev/shm where it exists."""

    def __init__(self):
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.dir = tempfile.mkdtemp(prefix="mmap-sync-python-", dir=base)

    def path(self, name):
        return os.path.join(self.dir, name)

    def publish(self, command, name, *args):
        """Runs the writer's ``command`` on channel ``name`` to completion; returns the path
        and the generation it published."""
        path = self.path(name)
        done = subprocess.run(
            [fixture_program(), command, path, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{command} failed:\n{done.stdout}{done.stderr}"
        lines = [parse_line(line) for line in done.stdout.splitlines() if line.strip()]
        published = [fields for event, fields in lines if event == "published"]
        generation = int(published[-1]["generation"]) if published else None
        return path, generation

    def expected(self, name):
        """What the writer says channel ``name``'s value reads as (its JSON)."""
        with open(self.path(name) + ".json", encoding="utf-8") as file:
            return json.load(file)

    def spawn(self, command, name, *args):
        """Starts the writer's ``command`` on channel ``name``, stdin and stdout piped."""
        return Writer(
            subprocess.Popen(
                [fixture_program(), command, self.path(name), *map(str, args)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
        )

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Writer:
    """A running writer process: ``line()`` reads its next report, ``send`` writes a line to
    it, ``stop`` closes its input (it exits) and returns its last report."""

    def __init__(self, process):
        self.process = process

    def line(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=30)
            pytest.fail(f"the writer exited: {self.process.stderr.read()}")
        return parse_line(line)

    def send(self, text):
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def stop(self):
        self.process.stdin.close()
        out = self.process.stdout.read()
        err = self.process.stderr.read()
        self.process.wait(timeout=60)
        assert self.process.returncode == 0, f"the writer failed:\n{out}{err}"
        lines = [parse_line(line) for line in out.splitlines() if line.strip()]
        return lines[-1] if lines else None

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=30)


@pytest.fixture
def channels():
    made = Channels()
    yield made
    made.remove()
