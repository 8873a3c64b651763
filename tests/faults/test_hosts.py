"""Workers on hosts of their own: two workers of each service, each on a loopback address of
its own (127.0.0.2, 127.0.0.3: as two hosts), with the same port and a state folder each.
A view asked of either is answered there or forwarded to the worker that owns its key, at
the address that worker advertises. While the seed campaign runs, and after, every view of
every key asked of every worker equals the replay's, with both workers running."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from tests.faults.harness import SERVICES, SPEED, Stack, check, figure, holding

HOSTS = ("127.0.0.2", "127.0.0.3")


def _status(url: str) -> int | str:
    """A page's HTTP status, or why there was none (a worker too busy to answer in time)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            answer.read()
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        return repr(exc)


@pytest.mark.timeout(1200)
def test_every_worker_on_its_own_address_answers_every_view_as_the_replay(
        kafka, deployment, tmp_path):
    stack = Stack(deployment)
    for service in SERVICES:
        for host in HOSTS:
            stack.start(service, host=host)
    stack.wait_ready()
    shares = holding(stack)  # both members of each group hold partitions

    run = stack.simulate(speed=SPEED)
    asked, refused = 0, []
    while run.poll() is None:  # pages gathered from both workers, asked of each, mid-run
        for worker in stack.workers["escalation"] + stack.workers["scheduler"]:
            path = "/escalations?limit=5" if worker.service == "escalation" else "/campaigns"
            status = _status(worker.url + path)
            asked += 1
            if status != 200:
                refused.append(f"{worker.url}{path}: {status}")
        time.sleep(2)
    assert run.returncode == 0
    stack.settle()
    result = check(stack, tmp_path, every_worker=True)
    figure("two hosts", f"partitions each worker held {shares}; pages asked mid-run {asked}, "
                        f"refused {len(refused)}")
    result.report("two hosts")
    assert result.problems() == []
    assert result.views > 2 * 250
    # A rebalance can refuse a page for a moment (503: ask again); the rest are answered.
    assert len(refused) <= asked // 10, refused
