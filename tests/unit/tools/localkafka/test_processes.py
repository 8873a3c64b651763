"""The local broker's processes as the tools find them (psutil, so on Linux and macOS alike):
a process whose command line runs ``kafka.Kafka`` on a configuration of the broker's folder is
found, with its resident memory, and no longer once it has exited."""

from __future__ import annotations

import subprocess
import sys

from inspections.localkafka.processes import alive, broker_processes, cmdline, resident_bytes


def test_a_broker_process_is_found_by_its_configuration_and_forgotten_when_it_ends(tmp_path):
    node = tmp_path / "node-2"
    node.mkdir()
    config = str(node / "server.properties")
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                 "kafka.Kafka", config])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                              "kafka.Kafka", str(tmp_path / "elsewhere.properties")])
    try:
        assert broker_processes(tmp_path) == [stand_in.pid]
        assert alive(stand_in.pid) and config in cmdline(stand_in.pid)
        assert resident_bytes(stand_in.pid) > 1 << 20
    finally:
        stand_in.kill()
        other.kill()
        stand_in.wait()
        other.wait()
    assert not alive(stand_in.pid) and broker_processes(tmp_path) == []
    assert resident_bytes(stand_in.pid) is None and cmdline(stand_in.pid) == []
