"""The on-disk journal: what is appended comes back, torn tails are survived, segments rotate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from a1rt.store import Journal, JournalError
from a1rt.store import journal as journal_module
from a1rt.store.journal import JournalEntry

MOMENT = datetime(2026, 3, 10, 12, 30, 15, 123456, tzinfo=UTC)
ROW = ("p-1", MOMENT, "nba_h2h", "v1", None, '{"home":0.5,"away":0.5}', 0.25, "{}")


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _sizes(folder: Path) -> int:
    return sum(path.stat().st_size for path in _files(folder))


def _tear_last_frame(folder: Path) -> None:
    path = _files(folder)[0]
    path.write_bytes(path.read_bytes()[:-5])  # a crash in the middle of the last append


def _entry(n: int = 1, table: str = "predictions") -> JournalEntry:
    return JournalEntry(table, [(f"p-{i}", *ROW[1:]) for i in range(n)])


@pytest.mark.anyio
async def test_journal_round_trips_rows_exactly(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    await journal.append([_entry(3), _entry(1, "system_alerts")])
    segment = await journal.next_segment()
    assert segment is not None
    entries = await journal.read(segment)
    assert [e.table for e in entries] == ["predictions", "system_alerts"]
    assert entries[0].rows[1] == ("p-1", *ROW[1:])
    assert entries[0].rows[0][1] == MOMENT and entries[0].rows[0][1].tzinfo is not None


@pytest.mark.anyio
async def test_journal_segment_is_removed_and_bytes_counted(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    assert journal.bytes == 0 and await journal.next_segment() is None
    await journal.append([_entry(2)])
    assert journal.bytes == _sizes(tmp_path) > 0
    segment = await journal.next_segment()
    assert segment is not None and await journal.next_segment() is None  # handed out once
    await journal.append([_entry(1)])  # goes to a new segment, not the one being replayed
    await journal.remove(segment)
    assert not segment.path.exists()
    assert journal.bytes == _sizes(tmp_path) > 0


@pytest.mark.anyio
async def test_journal_ignores_a_torn_final_frame(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    await journal.append([_entry(1)])
    await journal.append([_entry(2)])
    _tear_last_frame(tmp_path)
    segment = await Journal(tmp_path).next_segment()
    assert segment is not None
    entries = await Journal(tmp_path).read(segment)
    assert [len(e.rows) for e in entries] == [1]


@pytest.mark.anyio
async def test_journal_finds_the_segments_a_previous_run_left(tmp_path: Path) -> None:
    first = Journal(tmp_path, "persister")
    await first.append([_entry(1)])
    await Journal(tmp_path, "other").append([_entry(5)])
    again = Journal(tmp_path, "persister")
    assert again.bytes == first.bytes
    segment = await again.next_segment()
    assert segment is not None and len((await again.read(segment))[0].rows) == 1
    await again.append([_entry(1)])
    assert (await again.next_segment()) != segment  # new appends go after the old segments


@pytest.mark.anyio
async def test_journal_rotates_full_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "SEGMENT_BYTES", 100)  # below one entry
    journal = Journal(tmp_path)
    for _ in range(3):
        await journal.append([_entry(2)])
    assert len(_files(tmp_path)) == 3
    first = await journal.next_segment()
    second = await journal.next_segment()
    assert first is not None and second is not None and first.sequence < second.sequence


def test_journal_is_claimed_by_one_process_at_a_time(tmp_path: Path) -> None:
    mine, theirs = Journal(tmp_path), Journal(tmp_path)  # two descriptors: as two processes
    mine.claim()
    mine.claim()  # again: still ours
    with pytest.raises(JournalError, match="in use by another process"):
        theirs.claim()
    other = Journal(tmp_path, "worker-2")  # another name is another journal
    other.claim()
    other.release()
    mine.release()
    theirs.claim()
    theirs.release()
