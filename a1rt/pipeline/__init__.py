"""The domain actors and the supervision tree that wires them."""

from .channel import Grant, Position, Publication
from .hub import Hub, UnknownChannel
from .publisher import Publish, Publisher
from .runtime import Runtime
from .subscriber import Subscriber, SubscriberClosed
from .tree import build_tree

__all__ = [
    "Grant",
    "Hub",
    "Position",
    "Publication",
    "Publish",
    "Publisher",
    "Runtime",
    "Subscriber",
    "SubscriberClosed",
    "UnknownChannel",
    "build_tree",
]
