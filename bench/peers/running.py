"""Peers brought up beside the a1rt server for one `rest` run, and torn down after it.

A peer whose venv is missing, that does not start, or whose answer disagrees with a1rt's own
XGBoost member is not measured; the reason is recorded instead (`not_measured`) and the run
goes on with the others. Nothing here installs a venv: that is `python -m bench peers`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..loadgen import Target
from ..server import ServerFailed
from .catalog import PEERS, Peer, XgboostMember, settings_of
from .process import PeerServer

AGREE_WITHIN = 1e-4  # float32 booster vs the compiled member: same trees, same inputs


@dataclass(frozen=True)
class RunningPeer:
    """A started peer, the request it is loaded with, and what it answered by hand."""

    peer: Peer
    server: PeerServer
    target: Target
    record: dict[str, Any]

    @property
    def name(self) -> str:
        """The peer's name in the result."""
        return self.peer.name


def _check(peer: Peer, target: Target, a1rt_home: float) -> dict[str, Any]:
    """One request by hand: it must answer 200 with a1rt's member's P(home)."""
    assert target.body is not None
    answer = httpx.post(target.url, content=target.body, timeout=10,
                        headers={"content-type": "application/json"})  # fmt: skip
    if answer.status_code != 200:
        raise ServerFailed(f"{peer.name} answered {answer.status_code}: {answer.text[:300]}")
    home = peer.home_probability(answer.json())
    if abs(home - a1rt_home) > AGREE_WITHIN:
        raise ServerFailed(f"{peer.name} P(home) {home} differs from a1rt's member {a1rt_home}")
    return {"p_home": home, "a1rt_xgboost_member_p_home": a1rt_home}


def _start(peer: Peer, member: XgboostMember, event: dict[str, float], a1rt_home: float,
           scratch: Path) -> RunningPeer:  # fmt: skip
    server = peer.server(member, scratch)
    server.launch()
    try:
        ready_s = server.wait_ready()
        url = server.url + peer.predict_path.format(model=member.model)
        target = Target(url, "POST", peer.body(member, event))
        check = _check(peer, target, a1rt_home)
    except BaseException:
        server.stop()
        raise
    record = {"venv": str(peer.venv.path), "versions": _versions(peer),
              "settings": settings_of(peer), "server": server.describe(),
              "ready_after_s": ready_s, "check": check,
              "live_url": server.url + peer.live_path}  # fmt: skip
    return RunningPeer(peer, server, target, record)


def _versions(peer: Peer) -> dict[str, str]:
    wanted = ("mlserver", "mlserver-xgboost", "fastapi", "uvicorn", "starlette", "pydantic",
              "xgboost", "xgboost-cpu", "numpy", "uvloop", "httptools")  # fmt: skip
    recorded = peer.venv.recorded_versions()
    return {name: recorded[name] for name in wanted if name in recorded}


@contextlib.contextmanager
def running_peers(
    member: XgboostMember, event: dict[str, float], a1rt_home: float, scratch: Path
) -> Iterator[tuple[list[RunningPeer], dict[str, dict[str, Any]]]]:
    """(the peers that are up, name -> {"not_measured": reason} for the rest); stops them all."""
    started: list[RunningPeer] = []
    skipped: dict[str, dict[str, Any]] = {}
    try:
        for peer in PEERS:
            if (missing := peer.venv.missing()) is not None:
                skipped[peer.name] = {"not_measured": missing}
                continue
            try:
                started.append(_start(peer, member, event, a1rt_home, scratch))
            except (ServerFailed, httpx.HTTPError, OSError, KeyError, ValueError) as exc:
                skipped[peer.name] = {"not_measured": f"{type(exc).__name__}: {exc}"[:2000]}
        yield started, skipped
    finally:
        for running in started:
            running.record["exit_status"] = running.server.stop()
