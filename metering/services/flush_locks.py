"""Which flush works which dirty-set shard: one at a time per shard, any number at once overall.

On PostgreSQL a flush holds a session-level advisory lock per shard (`pg_try_advisory_lock`):
the database drops it the moment the flush's connection goes (a killed worker, a lost network),
so a crashed flush never blocks the next one and no lease has to expire. On SQLite (one
machine) an exclusive `flock` on a file next to the database (`<db>.flush-locks/`) does the
same: the kernel drops it with the process.

A flush that lost its lock without noticing (its connection dropped and Django opened a new one)
must not commit what it took: `ShardLock.confirm()` runs inside each chunk's transaction and
refuses unless this very connection still holds the lock. That fence is what lets the holder
adopt, as its own, any batch of a chunk that has no applied-marker (flush.py, recovery).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import DatabaseError, connection

# pg_try_advisory_lock(classid, objid): the class names metering's flush ('mflu'), objid the shard.
ADVISORY_CLASS = 0x6D666C75


class ShardLockLost(RuntimeError):
    """This flush no longer holds its shard: another may have adopted its batches."""


class ShardLock:
    def __init__(self, shard: int) -> None:
        self.shard = shard
        self._fd: int | None = None
        self._backend_pid: int | None = None

    def acquire(self) -> bool:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_lock(%s, %s), pg_backend_pid()",
                    [ADVISORY_CLASS, self.shard],
                )
                held, self._backend_pid = cursor.fetchone()
            return bool(held)
        path = _lock_dir() / f"shard-{self.shard}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def confirm(self) -> None:
        """Raise ShardLockLost unless this connection still holds the lock (call it inside the
        transaction that commits a chunk)."""
        if connection.vendor != "postgresql":
            return  # a flock lives as long as the process
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_backend_pid(), EXISTS (SELECT 1 FROM pg_locks WHERE locktype = "
                "'advisory' AND pid = pg_backend_pid() AND classid = %s AND objid = %s "
                "AND objsubid = 2 AND granted)",
                [ADVISORY_CLASS, self.shard],
            )
            pid, held = cursor.fetchone()
        if not held or pid != self._backend_pid:
            raise ShardLockLost(f"flush lost its lock on dirty shard {self.shard}")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            return
        if connection.vendor == "postgresql" and self._backend_pid is not None:
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_CLASS, self.shard]
                    )
            except DatabaseError:  # a dead connection released it already
                connection.close()
            self._backend_pid = None


def _lock_dir() -> Path:
    """Next to the database file (every process on the machine agrees on it)."""
    directory = Path(f"{os.path.abspath(str(connection.settings_dict['NAME']))}.flush-locks")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextmanager
def shard_locked(shard: int) -> Iterator[ShardLock | None]:
    """The shard's lock while the block runs, or None when another flush holds it."""
    lock = ShardLock(shard)
    if not lock.acquire():
        yield None
        return
    try:
        yield lock
    finally:
        lock.release()
