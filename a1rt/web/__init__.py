"""The HTTP and websocket surface."""

from .app import create_app
from .problems import Problem, problem_response

__all__ = ["Problem", "create_app", "problem_response"]
