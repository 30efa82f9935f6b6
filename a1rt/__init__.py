"""a1rt: a realtime sports-betting prediction server."""

__version__ = "0.1.0"
