"""The StatsD listener: every environment's Airflow sends its metrics here (UDP on loopback), under a
prefix that is a secret of that environment, so one environment cannot write another's metrics.

Packets (`name:value|c|@rate`, `|g` with +/- deltas, `|ms`, `|h`, several per packet) are folded into
statistic sets per (environment, metric, dimensions) and handed to `sink` every `flush` seconds in
the `AmazonMWAA` namespace with MWAA's names (domain.statsd_names). A packet with an unknown
prefix is dropped.
"""

from __future__ import annotations

import datetime
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from aerodrome.domain import statsd_names

log = logging.getLogger(__name__)

NAMESPACE = "AmazonMWAA"
UNITS = {"c": "Count", "ms": "Milliseconds", "h": "Milliseconds", "g": "None"}
Key = tuple[str, str, tuple[tuple[str, str], ...], str]  # environment, metric, dimensions, unit


def stable_port(port_file: Path) -> int:
    """The UDP port kept in `port_file`, or a free one written there: environments started earlier
    keep sending to the same port after the control plane restarts."""
    if port_file.exists():
        return int(port_file.read_text())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    port_file.write_text(str(port))
    return port


class StatsdListener:
    def __init__(self, port: int, *, resolve: Callable[[str], str | None],
                 sink: Callable[[str, list[dict]], object], flush: float = 10.0):
        self.port = port
        self._resolve = resolve
        self._sink = sink
        self._flush = flush
        self._sets: dict[Key, list[float]] = {}  # sum, count, min, max
        self._gauges: dict[tuple[str, str], float] = {}  # (environment, raw name) -> last value, for deltas
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._socket.bind(("127.0.0.1", self.port))
        except OSError:
            log.warning("StatsD port %s is taken; Airflow metrics are not collected until it is free", self.port)
            self._socket.close()
            self._socket = None
            return
        self._socket.settimeout(0.5)
        self._threads = [threading.Thread(target=self._receive, name="statsd", daemon=True),
                         threading.Thread(target=self._flush_loop, name="statsd-flush", daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        if self._socket is not None:
            self._socket.close()
        self.flush()

    def handle(self, packet: bytes) -> int:
        """Fold one packet in; how many metric lines were taken."""
        taken = 0
        for line in packet.decode("utf-8", "replace").splitlines():
            try:
                taken += self._line(line.strip())
            except (ValueError, IndexError):
                continue  # a malformed line is dropped, as StatsD servers do
        return taken

    def _line(self, line: str) -> int:
        if not line or ":" not in line or "." not in line:
            return 0
        head, rest = line.rsplit(":", 1)
        prefix, name = head.split(".", 1)
        environment = self._resolve(prefix)
        if environment is None:
            return 0
        parts = rest.split("|")
        kind = parts[1]
        rate = next((float(p[1:]) for p in parts[2:] if p.startswith("@")), 1.0)
        text = parts[0]
        value = float(text)
        if kind == "g" and text[:1] in "+-":  # a gauge delta
            value = self._gauges.get((environment, name), 0.0) + value
        if kind == "g":
            self._gauges[(environment, name)] = value
        metric, dimensions = statsd_names.to_cloudwatch(name)
        key: Key = (environment, metric, tuple(sorted(dimensions.items())), UNITS.get(kind, "None"))
        if kind == "c":
            value = value / rate if rate > 0 else value
        with self._lock:
            stats = self._sets.get(key)
            if stats is None:
                self._sets[key] = [value, 1.0, value, value]
            else:
                stats[0] += value
                stats[1] += 1
                stats[2] = min(stats[2], value)
                stats[3] = max(stats[3], value)
        return 1

    def flush(self) -> int:
        """Hand what was folded to the sink; how many datapoints."""
        with self._lock:
            sets, self._sets = self._sets, {}
        now = datetime.datetime.now(datetime.UTC)
        by_environment: dict[str, list[dict]] = {}
        for (environment, metric, dims, unit), (total, count, low, high) in sets.items():
            by_environment.setdefault(environment, []).append({
                "MetricName": metric, "Timestamp": now, "Unit": unit,
                "Dimensions": [{"Name": "Environment", "Value": environment},
                               *({"Name": k, "Value": v} for k, v in dims)],
                "StatisticValues": {"Sum": total, "SampleCount": count, "Minimum": low, "Maximum": high}})
        for data in by_environment.values():
            for start in range(0, len(data), 1000):  # PutMetricData's limit
                try:
                    self._sink(NAMESPACE, data[start:start + 1000])
                except Exception:
                    log.exception("storing Airflow's metrics failed")
        return len(sets)

    def _receive(self) -> None:
        assert self._socket is not None
        while not self._stop.is_set():
            try:
                packet = self._socket.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.handle(packet)

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._flush):
            self.flush()
