"""The per-channel continuity rules, frame by frame."""

from __future__ import annotations

from a1rt.client import Gap, Reset, Snapshot, Update
from a1rt.client._frames import Ack, Grant, SnapshotFrame, UpdateFrame
from a1rt.client._positions import Positions

CH = "odds:basketball_nba"


def update(seq: int, epoch: str = "E", con: bool = False, ch: str = CH) -> UpdateFrame:
    return UpdateFrame(ch=ch, epoch=epoch, seq=seq, ts=0, data=seq, con=con)


def live(seq: int = 0) -> Positions:
    positions = Positions([CH], None)
    positions.expect([CH], 1)
    assert positions.on_ack(Ack(id=1, channels={CH: Grant("E", seq, False)})) == []
    return positions


def test_positions_frames_before_the_ack_belong_to_the_old_subscription() -> None:
    positions = Positions([CH], {CH: ("E", 5)})
    assert positions.expect([CH], 7) == {CH: {"epoch": "E", "seq": 5}}
    assert positions.on_update(update(6)) is None  # still pending
    assert positions.on_ack(Ack(id=6, channels={CH: Grant("E", 9, True)})) == []  # stale ack
    assert positions.on_update(update(6)) is None
    assert positions.on_ack(Ack(id=7, channels={CH: Grant("E", 9, True)})) == []
    assert positions.on_update(update(6)) == Update(CH, "E", 6, 0, 6)
    assert positions.stale == 2 and positions.current() == {CH: ("E", 6)}


def test_positions_ack_not_recovered_resets_only_a_channel_that_held_a_position() -> None:
    fresh = Positions([CH, "alerts"], {"alerts": ("E", 3)})
    fresh.expect([CH, "alerts"], 1)
    grants = {CH: Grant("F", 4, False), "alerts": Grant("F", 2, False)}
    assert fresh.on_ack(Ack(id=1, channels=grants)) == [
        Reset("alerts", "F", 2, "the server could not resume from E:3")
    ]
    assert fresh.current() == {CH: ("F", 4), "alerts": ("F", 2)}
    snap = fresh.on_snapshot(SnapshotFrame(ch=CH, epoch="F", seq=4, data=[1]))
    assert snap == Snapshot(CH, "F", 4, [1])


def test_positions_jump_epoch_change_and_duplicates() -> None:
    positions = live()
    assert positions.on_update(update(1)) == Update(CH, "E", 1, 0, 1)
    assert positions.on_update(update(1)) is None and positions.duplicates == 1
    assert positions.on_update(update(3)) == Gap(CH, ("E", 1), ("E", 3))
    assert positions.on_update(update(3, con=True)) == Update(CH, "E", 3, 0, 3, con=True)
    assert positions.on_update(update(4, epoch="F")) == Gap(CH, ("E", 3), ("F", 4))
    assert positions.on_update(update(1, epoch="F", con=True)) == Gap(CH, ("E", 3), ("F", 1))
    assert positions.on_update(update(4, ch="unsubscribed")) is None
    assert positions.current() == {CH: ("E", 3)}
