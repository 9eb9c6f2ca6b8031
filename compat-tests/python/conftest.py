"""Fixtures for the Python client suites.

`--bootstrap HOST:PORT` (or KAFKA_BOOTSTRAP) points the client scenarios at a running broker, for
example Apache Kafka to check the scenarios themselves. Without it a fresh Strata is started from
STRATA_BIN (default target/release/strata) on a free loopback port. Crash tests always start
their own Strata and are skipped against an external broker.
"""
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_addoption(parser):
    parser.addoption("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A Strata process on a data directory that outlives restarts."""

    def __init__(self, data_dir, extra=()):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None
        self.bootstrap = f"127.0.0.1:{self.port}"

    def start(self):
        binary = os.environ.get("STRATA_BIN", str(ROOT / "target" / "release" / "strata"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "broker.log", "ab")
        self.proc = subprocess.Popen(
            [binary, "--listen", self.bootstrap, "--data-dir", str(self.data_dir), *self.extra],
            stdout=log, stderr=log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("broker did not start")

    def stop(self):
        """SIGTERM and require a clean exit (status 0)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            code = self.proc.wait(timeout=60)
            self.proc = None
            assert code == 0, f"broker exited with {code} after SIGTERM"

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None


@pytest.fixture(scope="session")
def bootstrap(request, tmp_path_factory):
    external = request.config.getoption("--bootstrap")
    if external:
        yield external
        return
    broker = Broker(tmp_path_factory.mktemp("strata"), ["--set", "group.initial.rebalance.delay.ms=0"]).start()
    yield broker.bootstrap
    broker.stop()


@pytest.fixture
def external(request):
    return bool(request.config.getoption("--bootstrap"))


@pytest.fixture
def topic_name():
    def make(prefix):
        return f"py-{prefix}-{uuid.uuid4().hex[:10]}"
    return make


def pytest_terminal_summary(terminalreporter):
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    terminalreporter.write_line(f"python(confluent-kafka, kafka-python): {passed} passed, {failed} failed")
