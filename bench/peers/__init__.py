"""The `rest` scenario's peers: MLServer and a plain FastAPI app, each in a venv of its own."""

from .catalog import PEERS, Peer, XgboostMember, settings_of
from .process import PeerServer
from .running import RunningPeer, running_peers
from .venvs import PEER_VENVS, PeerVenv, install_peers

__all__ = [
    "PEERS",
    "PEER_VENVS",
    "Peer",
    "PeerServer",
    "PeerVenv",
    "RunningPeer",
    "XgboostMember",
    "install_peers",
    "running_peers",
    "settings_of",
]
