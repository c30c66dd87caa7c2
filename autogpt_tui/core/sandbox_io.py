"""Reading a command's output: both pipes at once, keeping a bounded head and tail."""

from __future__ import annotations

import codecs
import os
import selectors
import time

__all__ = ["OutputCapture", "PipeReader"]


class OutputCapture:
    """Decodes a stream incrementally, keeping only its head and tail.

    Memory stays bounded however much a command prints, and the total is still counted
    so the marker can say how much was cut.
    """

    def __init__(self, limit: int) -> None:
        self._head_cap = limit // 2
        self._tail_cap = limit - self._head_cap
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._head = ""
        self._tail = ""
        self.total = 0

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final=final)
        self.total += len(text)
        if len(self._head) < self._head_cap:
            take = self._head_cap - len(self._head)
            self._head += text[:take]
            text = text[take:]
        if text:
            self._tail += text
            # Trim in batches, not on every chunk, so a flood of output stays linear.
            if len(self._tail) > 2 * self._tail_cap + 65536:
                self._tail = self._tail[-self._tail_cap :] if self._tail_cap else ""

    def result(self) -> tuple[str, bool]:
        """The kept text (with a marker where it was cut) and whether anything was cut."""
        tail = self._tail[-self._tail_cap :] if self._tail_cap else ""
        cut = self.total - len(self._head) - len(tail)
        if cut <= 0:
            return self._head + self._tail, False
        return f"{self._head}\n[... {cut} characters cut ...]\n{tail}", True


class PipeReader:
    """Reads a process's stdout and stderr together, so neither can fill up and block it."""

    def __init__(self, streams: dict[int, OutputCapture]) -> None:
        self._selector = selectors.DefaultSelector()
        self._captures = streams
        for fd in streams:
            self._selector.register(fd, selectors.EVENT_READ)
        self._open = set(streams)

    @property
    def done(self) -> bool:
        return not self._open

    def pump(self, timeout: float) -> None:
        """Read whatever is available within ``timeout`` seconds."""
        if not self._open:
            time.sleep(max(0.0, timeout))
            return
        for key, _ in self._selector.select(max(0.0, timeout)):
            fd = int(key.fd)
            data = os.read(fd, 65536)
            if data:
                self._captures[fd].feed(data)
            else:
                self._finish(fd)

    def drain(self, seconds: float) -> None:
        """Read until every pipe is closed or ``seconds`` have passed."""
        deadline = time.monotonic() + seconds
        while self._open and (remaining := deadline - time.monotonic()) > 0:
            self.pump(remaining)

    def close(self) -> None:
        for fd in list(self._open):
            self._finish(fd)
        self._selector.close()

    def _finish(self, fd: int) -> None:
        self._selector.unregister(fd)
        self._open.discard(fd)
        self._captures[fd].feed(b"", final=True)
