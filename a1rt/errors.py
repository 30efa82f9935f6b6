"""The application's own errors (each package below a1rt has its own module too).

A1rtError
├── ConfigError        a setting is missing or malformed; the message names the variable
└── StartupError       a component could not start (port taken, storage unreachable, ...)
"""

from __future__ import annotations


class A1rtError(Exception):
    """Root of a1rt's application errors."""


class ConfigError(A1rtError):
    """Raised when an A1RT_* variable (or a CLI option) has a value a1rt cannot use."""


class StartupError(A1rtError):
    """Raised when a component cannot start; the message says which and why."""
