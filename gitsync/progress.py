"""A one-line progress display on a terminal (stderr), redrawn twice a second."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Redraws ``render()`` in place while running; silent when not on a terminal."""

    def __init__(
        self, render: Callable[[float], str], enabled: bool, stream: TextIO | None = None
    ) -> None:
        self._render = render
        self._stream = stream or sys.stderr
        self._enabled = enabled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gitsync-progress", daemon=True)
        self._t0 = time.monotonic()
        self._width = 0

    def __enter__(self) -> Progress:
        if self._enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._enabled:
            self._stop.set()
            self._thread.join()
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            line = self._render(time.monotonic() - self._t0)
            cols = 120
            line = line[: cols - 1]
            self._width = max(self._width, len(line))
            self._stream.write("\r" + line.ljust(self._width))
            self._stream.flush()


def bar(done: int, total: int, width: int = 20) -> str:
    if total <= 0:
        return "[" + " " * width + "]"
    filled = min(width, int(width * done / total))
    return "[" + "#" * filled + "." * (width - filled) + "]"
