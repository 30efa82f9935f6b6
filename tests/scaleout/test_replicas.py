"""Two real replica processes with a real Redis and PostgreSQL, the simulator as the source:
fan-out to a follower, leader death (SIGKILL) and takeover, resume on another replica, and
`--workers 2` on one port."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, Server

from .conftest import PROCESS_REDIS_URL, redis_or_skip
from .replicas import (
    ConnectionClosed,
    StreamClient,
    assert_contiguous,
    first_key,
    replica_env,
    role,
    scratch_database,
    start_replica,
    wait_for,
)

pytestmark = pytest.mark.e2e

TTL = 2.0
GAMES = "games:basketball_nba"
ODDS = "odds:basketball_nba"
RESYNC = 4010


@pytest.fixture
def cluster_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    redis_or_skip(PROCESS_REDIS_URL)
    with scratch_database(f"scaleout_{secrets.token_hex(4)}") as database_url:
        yield {
            "A1RT_DATABASE_URL": database_url,
            "A1RT_REDIS_URL": PROCESS_REDIS_URL,
            "A1RT_LEASE_TTL": str(TTL),
        }
    redis_or_skip(PROCESS_REDIS_URL)  # leave the DB empty behind us


@pytest.fixture
def replicas() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)


def _admin_key(server: Server, env: dict[str, str], home: Path) -> str | None:
    """The first-start admin key the first replica printed, else a new one (if keys exist)."""
    printed = first_key(server)
    if printed is not None:
        return printed
    made = subprocess.run(
        [sys.executable, "-m", "a1rt.cli", "keys", "create", "--scope", "admin"],
        cwd=ROOT, env=replica_env(home, **env), capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        return None
    key: str = made.stdout.decode().strip().splitlines()[-1]
    return key


def _storage_rows(server: Server) -> float:
    text = server.get("/metrics").text
    return sum(
        float(v)
        for v in re.findall(r"^a1rt_storage_rows_written_total\{[^}]*\} (\S+)$", text, re.M)
    )


def test_replicas_fan_out_take_over_on_leader_death_and_resume_anywhere(
    tmp_path: Path, cluster_env: dict[str, str], replicas: list[Server]
) -> None:
    a = start_replica("a", tmp_path, **cluster_env)
    replicas.append(a)
    a.wait_ready()
    wait_for(lambda: role(a).startswith("leader"), 10, "the first replica leads")
    # The second replica reuses the first one's compiled models rather than compiling again.
    shutil.copytree(tmp_path / "a" / "data" / "build", tmp_path / "b" / "data" / "build")
    b = start_replica("b", tmp_path, **cluster_env)
    replicas.append(b)
    b.wait_ready()
    assert role(b) == "following"
    token = _admin_key(a, cluster_env, tmp_path / "keys")

    # A client on the follower receives what the leader publishes, at the same positions.
    on_a, on_b = StreamClient(a, token), StreamClient(b, token)
    grants_a = on_a.subscribe([GAMES, ODDS])
    grants_b = on_b.subscribe([GAMES, ODDS])
    assert grants_a[GAMES]["epoch"] == grants_b[GAMES]["epoch"]
    on_b.until(lambda: len(on_b.updates(GAMES)) >= 3, 30, "updates on the follower")
    on_a.until(
        lambda: on_a.updates(GAMES) and on_a.updates(GAMES)[-1]["seq"]
        >= on_b.updates(GAMES)[-1]["seq"],
        10, "the same updates on the leader",
    )  # fmt: skip
    seen_a = {(f["epoch"], f["seq"]): f["data"] for f in on_a.updates(GAMES)}
    for frame in on_b.updates(GAMES):
        if (frame["epoch"], frame["seq"]) in seen_a:
            assert seen_a[(frame["epoch"], frame["seq"])] == frame["data"]
    assert_contiguous(on_b.updates(GAMES))
    # The follower's own feature cache (fed from the streams) answers predictions by event.
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    live = httpx.get(b.url + "/api/v2/data/live-games", headers=headers, timeout=10)
    games = live.json()["games"]
    assert games, "the follower knows the live games"
    event = next(g for g in games if g["sport"] == "basketball_nba" and g["status"] != "final")
    predicted = httpx.post(b.url + "/api/v2/predict", json={"event_id": event["event_id"]},
                           headers=headers, timeout=10)  # fmt: skip
    assert predicted.status_code in (200, 409), predicted.text  # 409: no features yet
    # Only the leader stores rows.
    assert _storage_rows(a) > 0
    assert _storage_rows(b) == 0

    # Resume on the other replica: a client leaves the leader and resumes on the follower.
    on_a.collect(0.5)
    left_at = on_a.position(GAMES)
    on_a.close()
    time.sleep(1.5)  # it misses some updates
    moved = StreamClient(b, token)
    grant = moved.subscribe([GAMES], {GAMES: left_at})[GAMES]
    assert grant["recovered"] is True and grant["epoch"] == left_at["epoch"]
    moved.until(lambda: moved.updates(GAMES), 10, "replayed updates")
    assert moved.updates(GAMES)[0]["seq"] == left_at["seq"] + 1
    moved.close()

    # The leader dies; the follower takes over within the TTL (plus its ttl/3 retry).
    on_b.collect(0.3)
    before = on_b.position(GAMES)
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(timeout=10)
    took = wait_for(lambda: role(b).startswith("leader"), TTL * 3, "takeover", step=0.02)
    assert took <= TTL * 1.34 + 0.3, f"takeover took {took:.2f}s"
    # The client on the survivor either continues without a gap or is told to resync and
    # then gets recovered: false with a fresh snapshot.
    try:
        on_b.until(lambda: on_b.position(GAMES)["seq"] > before["seq"] + 2, 30, "new updates")
        after = [f for f in on_b.updates(GAMES) if f["seq"] > before["seq"] - 3]
        assert_contiguous(after)
        assert after[-1]["epoch"] == before["epoch"]  # the new leader continued the epoch
    except ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == RESYNC
        again = StreamClient(b, token)
        grant = again.subscribe([GAMES], {GAMES: before})[GAMES]
        assert grant["recovered"] is False
        again.until(lambda: again.data, 10, "a snapshot")
        assert again.data[0]["op"] == "snapshot"
    assert _storage_rows(b) > 0 or wait_for(lambda: _storage_rows(b) > 0, 15, "b stores")
    code, _ = b.stop(timeout=15)
    assert code == 0
    assert "Traceback" not in b.log.read_text()


def test_serve_workers_two_replicas_on_one_port_stop_on_sigterm(
    tmp_path: Path, cluster_env: dict[str, str], replicas: list[Server]
) -> None:
    server = start_replica("w", tmp_path, "--workers", "2", **cluster_env)
    replicas.append(server)
    server.wait_ready()
    wait_for(lambda: _workers(server) == 2, 30, "two workers")
    roles = set()
    for _ in range(40):  # new connections: the kernel spreads them over both workers
        with httpx.Client(timeout=5) as client:
            roles.add(client.get(server.url + "/health").json()["components"]["leadership"]
                      ["detail"].split(" ")[0])  # fmt: skip
        if roles == {"leader", "following"}:
            break
    assert roles == {"leader", "following"}
    # A worker that dies is restarted, and the port keeps serving.
    os.kill(_worker_pids(server)[0], signal.SIGKILL)
    wait_for(lambda: _workers(server) == 3, 30, "the dead worker restarted")
    wait_for(lambda: server.get("/health/ready").status_code == 200, 60, "serving again")
    code, elapsed = server.stop(timeout=20)
    assert code == 0
    assert elapsed < 20
    log = server.log.read_text()
    assert "Traceback" not in log
    assert log.count('"event":"worker stopped"') == 2


def test_serve_workers_without_redis_is_refused_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "a1rt.cli", "serve", "--workers", "2"],
        cwd=ROOT, env=replica_env(tmp_path, A1RT_REDIS_URL=""), capture_output=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "A1RT_REDIS_URL" in lines[0], lines


def _workers(server: Server) -> int:
    return len(_worker_pids(server))


def _worker_pids(server: Server) -> list[int]:
    lines = server.log.read_text().splitlines()
    return [json.loads(line)["pid"] for line in lines if '"event":"worker started"' in line]
