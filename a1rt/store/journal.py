"""The on-disk journal: batches that could not be written to PostgreSQL yet.

Append-only segment files under `<data_dir>/journal/`, named `<name>-<sequence>.journal`. A
segment is a run of frames, each `length, crc32` (two big-endian u32) and then a msgpack
`JournalEntry`; every append is one fsync. Segments are replayed oldest first: the active one
is sealed (no more appends) before it is handed out, and removed only once every row in it is
in the database, so a crash at any point replays it again, which the idempotent writes make
harmless. A torn frame at the end of a segment (a crash mid-append) ends that segment.
A journal is claimed by one process at a time (an exclusive lock on `<name>.lock`): replicas
that share a data directory must give their persisters different names.
"""

from __future__ import annotations

import fcntl
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import msgspec

from ..logs import get_logger
from ._exceptions import JournalError

log = get_logger(__name__)

_HEADER = struct.Struct(">II")
SEGMENT_BYTES = 8 * 1024 * 1024  # a sealed segment is read into memory whole


class JournalEntry(msgspec.Struct, array_like=True):
    """One batch: the table and its rows."""

    table: str
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True, order=True)
class Segment:
    """One journal file; once sealed, it no longer grows."""

    sequence: int
    path: Path = field(compare=False)


class Journal:
    """Segments of entries waiting to be replayed; at most one task appends at a time."""

    def __init__(self, directory: Path, name: str = "persister") -> None:
        self.directory = directory
        self.name = name
        self._lock = anyio.Lock()
        self._claim: int | None = None  # the locked file's descriptor
        self._handed_out: set[int] = set()
        self._active: Segment | None = None
        self._active_bytes = 0
        # Segments a previous run left are replayed first (a directory listing: cheap enough
        # to do here, and then `bytes` is right from the start).
        found = _existing(directory, name)
        self._sealed = sorted(Segment(seq, path) for seq, path, _ in found)
        self._bytes = sum(size for _, _, size in found)
        self._next_sequence = max((seq for seq, _, _ in found), default=0) + 1
        if found:
            log.info("journal segments to replay", segments=len(found), bytes=self._bytes)

    def claim(self) -> None:
        """Take the journal for this process (again, if already ours); JournalError if another
        process holds it."""
        if self._claim is not None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / f"{self.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(f"journal directory unusable: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise JournalError(
                f"journal {self.name!r} in {self.directory} is in use by another process; "
                "replicas sharing a data directory need different persister names"
            ) from exc
        self._claim = fd

    def release(self) -> None:
        """Let another process claim the journal."""
        if self._claim is not None:
            os.close(self._claim)
            self._claim = None

    @property
    def bytes(self) -> int:
        """Bytes on disk in this journal's segments."""
        return self._bytes

    async def append(self, entries: list[JournalEntry]) -> None:
        """Write `entries` to the active segment and fsync it; JournalError if that fails."""
        async with self._lock:
            if self._active is None:
                self._active = self._new_segment()
                self._active_bytes = 0
            try:
                written = await _in_thread(_append, self._active.path, entries)
            except JournalError:
                self._seal_active()  # a torn frame may end it now; append to a new segment
                raise
            self._active_bytes += written
            self._bytes += written
            if self._active_bytes >= SEGMENT_BYTES:
                self._seal_active()

    async def next_segment(self) -> Segment | None:
        """The oldest segment not handed out yet (sealing the active one if that is all there
        is), or None when there is nothing to replay."""
        async with self._lock:
            waiting = [s for s in self._sealed if s.sequence not in self._handed_out]
            if not waiting and self._active is not None:
                self._seal_active()
                waiting = [s for s in self._sealed if s.sequence not in self._handed_out]
            if not waiting:
                return None
            self._handed_out.add(waiting[0].sequence)
            return waiting[0]

    async def read(self, segment: Segment) -> list[JournalEntry]:
        """Every intact entry of `segment`, in order."""
        entries: list[JournalEntry] = await _in_thread(_read, segment.path)
        return entries

    async def remove(self, segment: Segment) -> None:
        """Delete `segment`: all of it is in the database now."""
        async with self._lock:
            size = await _in_thread(_remove, segment.path)
            self._bytes -= size
            self._sealed.remove(segment)
            self._handed_out.discard(segment.sequence)

    def _seal_active(self) -> None:
        assert self._active is not None  # noqa: S101 - callers check
        self._sealed.append(self._active)
        self._active = None

    def _new_segment(self) -> Segment:
        sequence = self._next_sequence
        self._next_sequence += 1
        return Segment(sequence, self.directory / f"{self.name}-{sequence:012d}.journal")


async def _in_thread(func: Any, *args: Any) -> Any:
    try:
        return await anyio.to_thread.run_sync(func, *args)
    except OSError as exc:
        raise JournalError(f"journal I/O failed: {exc}") from exc


def _append(path: Path, entries: list[JournalEntry]) -> int:
    frames = bytearray()
    for entry in entries:
        payload = msgspec.msgpack.encode(entry)
        frames += _HEADER.pack(len(payload), zlib.crc32(payload))
        frames += payload
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as file:
        file.write(frames)
        file.flush()
        os.fsync(file.fileno())
    if new:
        _fsync_directory(path.parent)
    return len(frames)


def _read(path: Path) -> list[JournalEntry]:
    if not path.exists():  # an append that failed before creating it
        return []
    data = path.read_bytes()
    entries, offset = [], 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        payload = data[offset + _HEADER.size : offset + _HEADER.size + length]
        if len(payload) < length or zlib.crc32(payload) != crc:
            break
        try:
            entries.append(msgspec.msgpack.decode(payload, type=JournalEntry))
        except msgspec.DecodeError:
            break
        offset += _HEADER.size + length
    if offset != len(data):
        log.warning("journal segment ends in a torn or unreadable frame", path=str(path), at=offset)
    return entries


def _remove(path: Path) -> int:
    size = path.stat().st_size if path.exists() else 0
    path.unlink(missing_ok=True)
    return size


def _existing(directory: Path, name: str) -> list[tuple[int, Path, int]]:
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob(f"{name}-*.journal"):
        digits = path.stem.rpartition("-")[2]
        if digits.isdigit():
            found.append((int(digits), path, path.stat().st_size))
    return found


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
