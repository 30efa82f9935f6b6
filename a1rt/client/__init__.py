"""`a1rt.client`: an async Python client of an a1rt server, for bots and UIs' back ends.

REST predictions and a websocket stream that reconnects, resumes and checks its own sequence::

    import asyncio
    from a1rt.client import Client, Gap, Reset, Snapshot, Update

    async def main() -> None:
        async with Client("http://127.0.0.1:8000", api_key="a1rt_...") as client:
            body = await client.predict(model="basketball_nba_h2h", features={...})
            print(body["probabilities"])
            async with client.stream(["games:basketball_nba", "alerts"]) as stream:
                async for event in stream:
                    match event:
                        case Snapshot(channel=ch, data=items):
                            ...  # replace what you hold for ch
                        case Update(channel=ch, data=item):
                            ...  # apply it (con=True: conflated, seq may skip superseded ones)
                        case Reset():
                            ...  # resume impossible: a Snapshot follows (state channels)
                        case Gap():
                            ...  # informational: the client is already re-fetching the gap

    asyncio.run(main())

`stream.positions()` gives {channel: (epoch, seq)}; pass it as `resume=` to a later stream (in
another process, even) to continue where this one stopped. Errors: see `ClientError`'s tree.
This package imports nothing of the server: it works installed on its own.
"""

from __future__ import annotations

from ._backoff import Backoff
from ._client import Client
from ._events import Event, Gap, Position, Reset, Snapshot, Update
from ._exceptions import (
    ClientError,
    OpError,
    ProblemError,
    ProtocolError,
    StreamRefused,
    TransportError,
)
from ._stream import Stream, StreamState

__all__ = [
    "Backoff",
    "Client",
    "ClientError",
    "Event",
    "Gap",
    "OpError",
    "Position",
    "ProblemError",
    "ProtocolError",
    "Reset",
    "Snapshot",
    "Stream",
    "StreamRefused",
    "StreamState",
    "TransportError",
    "Update",
]
