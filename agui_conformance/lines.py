"""Line numbers of a recording's events: where each event starts in its file.

Owns `LineIndex` (event index -> 1-based line, stored as runs, so a JSONL file
or an ordinary SSE capture of a million events costs a few hundred entries)
and `LineCounter` (the line of a byte offset in a stream read in chunks, for
SSE frames, whose offsets the parser gives). `recording` fills them as it reads;
reports (text `path:line`, SARIF regions) only look lines up. Knows nothing of
events, rules or formats.
"""

from __future__ import annotations

import bisect


class LineIndex:
    """Event index -> 1-based line. Events are added in index order; a run of
    consecutive indexes whose lines grow by the same step is one entry."""

    __slots__ = ("_counts", "_lines", "_starts", "_steps")

    def __init__(self) -> None:
        self._starts: list[int] = []  # first event index of each run
        self._lines: list[int] = []  # its line
        self._steps: list[int] = []  # lines between consecutive events of the run
        self._counts: list[int] = []  # events in the run

    def add(self, index: int, line: int) -> None:
        """Event `index` starts on `line`."""
        if self._starts:
            last = len(self._starts) - 1
            count = self._counts[last]
            if index == self._starts[last] + count:
                step = line - (self._lines[last] + self._steps[last] * (count - 1))
                if count == 1 and step > 0:
                    self._steps[last] = step
                    self._counts[last] = 2
                    return
                if step == self._steps[last]:
                    self._counts[last] = count + 1
                    return
        self._starts.append(index)
        self._lines.append(line)
        self._steps.append(1)
        self._counts.append(1)

    def add_run(self, index: int, line: int, count: int) -> None:
        """Events `index`..`index + count - 1` start on consecutive lines from `line`."""
        if count <= 0:
            return
        self.add(index, line)
        if count > 1:
            self.add(index + 1, line + 1)
            self._counts[-1] += count - 2

    def get(self, index: int | None) -> int | None:
        """The line event `index` starts on, or None when not known."""
        if index is None:
            return None
        run = bisect.bisect_right(self._starts, index) - 1
        if run < 0 or index >= self._starts[run] + self._counts[run]:
            return None
        return self._lines[run] + self._steps[run] * (index - self._starts[run])

    def __len__(self) -> int:
        return sum(self._counts)


class LineCounter:
    """Lines of byte offsets, asked in order, over a stream fed in chunks. CR, LF and CRLF
    each end a line (as in SSE). Holds only the bytes not yet settled (`settle`)."""

    __slots__ = ("_base", "_buf", "_cr_end", "_line")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._line = 1  # the line _base is on
        self._cr_end = False  # the bytes counted so far ended with a CR

    def feed(self, chunk: bytes) -> None:
        self._buf += chunk

    def line_at(self, offset: int) -> int:
        """The 1-based line of stream `offset` (never before an offset already asked)."""
        self.settle(offset)
        return self._line

    def settle(self, offset: int) -> None:
        """Count the lines before `offset` and drop those bytes."""
        size = offset - self._base
        if size <= 0:
            return
        part = bytes(self._buf[:size])
        breaks = part.count(b"\n") + part.count(b"\r") - part.count(b"\r\n")
        if self._cr_end and part.startswith(b"\n"):
            breaks -= 1  # the LF of a CRLF whose CR was counted already
        self._line += breaks
        self._cr_end = part.endswith(b"\r")
        del self._buf[:size]
        self._base = offset
