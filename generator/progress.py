"""What a build tells the person (or the CI log) watching it, and what it remembers for
`build.json`.

- On a terminal, long stages draw a progress bar with an ETA (tqdm, on stderr); in a log
  (CI, a pipe) there are no bars. Either way each step of the build ends with one line:
  its name, its wall time and whether it came from the cache.
- `-q` silences the bars and the lines; `-v` lets third-party output through (sparsify's
  Triton notice, transformers' weight-loading bars and warnings), which stays out otherwise.
- A `Recorder` counts cache hits and misses per stage and times each step; `build.json`
  is written from it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from generator.cache import Entry

log = logging.getLogger("generator.progress")

_settings = {"bars": True, "third_party": False}


def configure(verbosity: int) -> None:
    """-1 quiet (no bars, no step lines), 0 default, 1+ verbose (third-party output too)."""
    _settings["bars"] = verbosity >= 0
    _settings["third_party"] = verbosity >= 1
    log.setLevel(logging.INFO if verbosity >= 0 else logging.WARNING)
    if verbosity < 1:  # read when huggingface_hub and transformers are imported
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("SPARSIFY_DISABLE_TRITON", "1")  # no Triton on CPU; GPU decode unused


LINE_EVERY = float(os.environ.get("SAETAX_PROGRESS_EVERY", "30"))  # seconds between lines


def bar(total: int, desc: str, unit: str = "row", lines: bool = False) -> Any:
    """A progress bar with an ETA on a terminal; nothing in a log or under -q.

    `lines`: in a log (not a terminal, not -q), write a plain line `desc  done/total
    (pct), ETA` at most every LINE_EVERY seconds instead (long sweeps in CI)."""
    import sys

    from tqdm.auto import tqdm

    if lines and _settings["bars"] and not sys.stderr.isatty():
        return LineProgress(total, desc, unit)
    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=bar_disabled())


class LineProgress:
    """tqdm's `update`/context interface, reported as periodic log lines."""

    def __init__(self, total: int, desc: str, unit: str, every: float | None = None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        self.every = LINE_EVERY if every is None else every
        self._t0 = self._last = time.monotonic()
        self._n0: int | None = None  # done before timing started (cache hits)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: int = 1) -> None:
        now = time.monotonic()
        if self._n0 is None:  # the first update: what was already done (cached)
            self._n0, self._t0 = n, now
        self.n += n
        if now - self._last >= self.every and self.n < self.total:
            self._last = now
            log.info("%s", self.line(now))

    def line(self, now: float) -> str:
        done, pct = f"{self.n}/{self.total} {self.unit}s", self.n / max(self.total, 1)
        rate_n = self.n - (self._n0 or 0)
        if rate_n <= 0 or now <= self._t0:
            return f"{self.desc}  {done} ({pct:.0%})"
        eta = (self.total - self.n) * (now - self._t0) / rate_n
        return f"{self.desc}  {done} ({pct:.0%}), ETA {_duration(eta)}"


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s" if m else f"{s} s"


def third_party_allowed() -> bool:
    """Whether -v asked for third-party output (library logs, loading bars)."""
    return _settings["third_party"]


def bar_disabled() -> bool | None:
    """tqdm's `disable`: True under -q, else None (drawn only on a terminal)."""
    return None if _settings["bars"] else True


_ticking: list[Any] = []


@contextlib.contextmanager
def ticking(total: int, desc: str, unit: str = "page") -> Iterator[Any]:
    """A bar that code without a handle on it (a MkDocs hook) advances with `tick()`."""
    with bar(total, desc, unit) as b:
        _ticking.append(b)
        try:
            yield b
        finally:
            _ticking.remove(b)


def tick(n: int = 1) -> None:
    """Advance the innermost `ticking` bar, if any."""
    if _ticking:
        _ticking[-1].update(n)


@contextlib.contextmanager
def third_party_quiet() -> Iterator[None]:
    """Swallow what a library prints while imported or loading (sparsify's Triton notice,
    transformers' loading bars), unless -v asked for it."""
    if _settings["third_party"]:
        yield
        return
    try:
        import transformers.utils.logging as tlog
    except ImportError:  # pragma: no cover - transformers is a dependency
        tlog = None
    was_on = tlog.is_progress_bar_enabled() if tlog else False
    if tlog:
        tlog.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        if tlog and was_on:
            tlog.enable_progress_bar()


@dataclass
class StageCount:
    """One cache stage over the whole build."""

    hits: int = 0
    misses: int = 0
    computed_seconds: float = 0.0  # compute time of this build's misses
    saved_seconds: float = 0.0  # what the hits took when they were computed

    def to_dict(self) -> dict[str, Any]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "computed_seconds": round(self.computed_seconds, 3),
            "saved_seconds": round(self.saved_seconds, 3),
        }


@dataclass
class Step:
    """One line of the build's log: a step's wall time and the cache entries it used."""

    name: str
    seconds: float = 0.0
    hits: int = 0
    misses: int = 0
    detail: str = ""

    def line(self) -> str:
        n = self.hits + self.misses
        if n == 0:
            what = self.detail
        elif n == 1:
            what = "cached" if self.hits else "computed"
        else:
            what = f"{n} entries: {self.hits} cached, {self.misses} computed"
        if self.detail and n:
            what = f"{what}; {self.detail}"
        return f"{self.name:<30} {self.seconds:8.1f} s  {what}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 3),
            "hits": self.hits,
            "misses": self.misses,
            "detail": self.detail,
        }


@dataclass
class Recorder:
    """Cache hits, misses and timings of one build (for its log lines and build.json)."""

    stages: dict[str, StageCount] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id → method, times
    _open: list[Step] = field(default_factory=list)

    def add(self, stage: str, entry: Entry) -> Entry:
        """Count one cache entry under its stage (and the open step); returns it."""
        c = self.stages.setdefault(stage, StageCount())
        if entry.hit:
            c.hits += 1
            c.saved_seconds += entry.seconds
        else:
            c.misses += 1
            c.computed_seconds += entry.seconds
        for s in self._open:
            s.hits += entry.hit
            s.misses += not entry.hit
        return entry

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Time a step of the build; its line is logged when it ends (not when it fails)."""
        s = Step(name)
        self._open.append(s)
        t0 = time.perf_counter()
        try:
            yield s
        finally:
            self._open.remove(s)
            s.seconds = time.perf_counter() - t0
            self.steps.append(s)
        log.info("%s", s.line())
