"""The domain actors and the supervision tree that wires them."""

from .runtime import Runtime
from .tree import build_tree

__all__ = ["Runtime", "build_tree"]
