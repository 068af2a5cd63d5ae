"""Named crash points: the steps between two writes where a process can die (a Lambda timeout, a killed
container). The engine calls ``reached(name)`` at each; a test arms a point to make that step raise
``CrashPointReached``, which no handler catches (like a real crash, nothing after it runs and nothing is recorded),
then runs the retry and checks that it finds what the first attempt did. Disarmed, a point costs one dict lookup.

Every point is declared in ``POINTS`` (name -> what has happened at that step and what has not), so a test can
sweep them all and a typo in a test fails instead of arming nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

POINTS: dict[str, str] = {
    "sync_out.before_send": "the replica is built; nothing is in the outbox or on the twin",
    "sync_out.after_send": "the replica and the twin's record of it are saved together; the delivery is not queued",
    "sync_in.after_hold": "the replica waits in the twin's inbox; its apply is not queued",
    "sync_in.after_create_claim": "the create is claimed on the twin; the tracker has no copy yet",
    "sync_in.after_create": "the copy exists in the tracker; the twin does not name it",
    "sync_in.after_update": "the fields are written to the tracker; the twin has not recorded the apply",
    "sync_in.after_comment_claim": "the comments to post are claimed on the twin; none is posted",
    "sync_in.after_comment_post": "a comment is posted; the twin does not link it",
    "sync_in.after_comment_update": "a comment is edited; the twin has not recorded its new digest",
    "sync_in.after_comment_delete": "a comment is deleted; the twin still links it",
    "sync_in.after_attachment_claim": "the attachments to upload are claimed on the twin; none is uploaded",
    "sync_in.after_attachment_upload": "an attachment is uploaded; the twin does not link it",
    "sync_in.after_attachment_delete": "an attachment is deleted; the twin still links it",
    "sync_in.before_record": "every tracker write of the apply is made; the apply is not recorded",
}


class CrashPointReached(BaseException):
    """An armed crash point was reached: the process "dies" here."""

    def __init__(self, name: str) -> None:
        super().__init__(f"crash point {name}")
        self.name = name


_lock = threading.Lock()
_armed: dict[str, int] = {}  # name -> how many more times the point is passed before it crashes
_hits: dict[str, int] = {}  # name -> how many times an armed run reached it (for tests' reports)


def reached(name: str) -> None:
    """Crash here when ``name`` is armed and its passes are used up; otherwise nothing."""
    if not _armed:
        return
    with _lock:
        if name not in _armed:
            return
        _hits[name] = _hits.get(name, 0) + 1
        if _armed[name] > 0:
            _armed[name] -= 1
            return
        del _armed[name]
    raise CrashPointReached(name)


def arm(name: str, *, passes: int = 0) -> None:
    """Make the next run through ``name`` crash (after letting ``passes`` runs through). One crash per arming."""
    if name not in POINTS:
        raise KeyError(f"unknown crash point {name!r}; known: {', '.join(POINTS)}")
    with _lock:
        _armed[name] = passes


def disarm() -> None:
    with _lock:
        _armed.clear()


def armed() -> set[str]:
    with _lock:
        return set(_armed)


def hits(name: str) -> int:
    with _lock:
        return _hits.get(name, 0)


@contextmanager
def crash_at(name: str, *, passes: int = 0) -> Iterator[None]:
    """Armed for the block; disarmed after it, whether it crashed or not."""
    arm(name, passes=passes)
    try:
        yield
    finally:
        with _lock:
            _armed.pop(name, None)
