"""A lock file beside `--output`, so two runs given the same results file do not interleave their rewrites."""

from __future__ import annotations

import os
from pathlib import Path

from deepgen_cli.engine.errors import UsageError

try:
    import fcntl
except ImportError:  # not POSIX: no locking (deepgen runs on Linux and macOS)
    fcntl = None


def lock_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.lock")


class OutputLock:
    """An exclusive flock on `.NAME.lock` beside the output, held for the run; the file is removed on release.

    The lock is on an open file, so the kernel drops it when the process dies (kill -9 leaves a stale file but
    no stale lock: the next run takes it).
    """

    def __init__(self, output: Path):
        self.path = lock_path(output)
        self.output = output
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None:
            return
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode("ascii", "replace").strip()
                os.close(fd)
                raise UsageError(f"--output: another deepgen run is writing '{self.output}' (process {holder or '?'}"
                                 f" holds {self.path}); wait for it to end or choose another --output") from None
            # The holder before us may have removed the file between our open and our lock: then we hold a
            # lock on a file nobody else can find, and must lock the one at the path now.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)  # while still holding the lock, so no one else holds this file
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None
