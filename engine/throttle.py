"""Sign-in rate limits that slow guessing without letting anyone lock the owner out.

Two limits, both in memory for the server process (a restart clears them):

* **Per source** (the address a sign-in comes from): the first ``FREE_FAILURES`` wrong answers
  cost nothing; after that each further attempt from that source must wait an exponentially
  growing delay after its last failure (1 s, 2 s, 4 s ... capped at ``MAX_DELAY_S``). One source
  guessing many usernames is slowed as much as one guessing one. A success from the source, or
  ``FORGET_S`` without a failure, clears it.
* **Per account**: after ``ACCOUNT_FAILURES`` wrong answers for one username (from any source)
  the account is locked, for ``ACCOUNT_LOCK_S`` doubling with each further failure (capped at
  ``MAX_ACCOUNT_LOCK_S``), but only for sources and sessions that never signed in to it. The owner,
  from an address or browser session that signed in to the account before, still passes with the
  correct password, so a stranger's wrong guesses cannot lock them out. Failures are counted for
  unknown usernames too, so the limits say nothing about which usernames exist.

Every check returns the seconds to wait (0: go ahead); the caller shows it and does not check the
password at all while it is above zero.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FREE_FAILURES = 3
BASE_DELAY_S = 1.0
MAX_DELAY_S = 300.0
ACCOUNT_FAILURES = 5
ACCOUNT_LOCK_S = 60.0
MAX_ACCOUNT_LOCK_S = 3600.0
FORGET_S = 3600.0
MAX_KNOWN = 50  # remembered sources and sessions per account


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


@dataclass
class SignInThrottle:
    """The limits for one server process (``THROTTLE``); ``clock`` is injectable for tests."""

    clock: Callable[[], float] = time.monotonic
    _sources: dict[str, _Failures] = field(default_factory=dict)
    _accounts: dict[str, _Failures] = field(default_factory=dict)
    _known: dict[str, dict[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _current(self, table: dict[str, _Failures], key: str, now: float) -> _Failures:
        entry = table.get(key)
        if entry is None or now - entry.last > FORGET_S:
            entry = _Failures()
            table[key] = entry
        return entry

    def source_wait(self, source: str) -> float:
        """Seconds before ``source`` may try again."""
        with self._lock:
            now = self.clock()
            f = self._current(self._sources, source, now)
            if f.count < FREE_FAILURES:
                return 0.0
            delay = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (f.count - FREE_FAILURES))
            return max(0.0, delay - (now - f.last))

    def account_wait(self, username: str, *identities: str) -> float:
        """Seconds before ``username`` may be tried from a caller with these identities (its
        source, its session); 0 for a source or session that signed in to it before."""
        with self._lock:
            now = self.clock()
            known = self._known.get(username, {})
            if any(i in known for i in identities):
                return 0.0
            f = self._current(self._accounts, username, now)
            if f.count < ACCOUNT_FAILURES:
                return 0.0
            lock = min(MAX_ACCOUNT_LOCK_S, ACCOUNT_LOCK_S * 2 ** (f.count - ACCOUNT_FAILURES))
            return max(0.0, lock - (now - f.last))

    def wait(self, username: str, source: str, session: str) -> float:
        """The longer of the two waits for this attempt."""
        return max(self.source_wait(source), self.account_wait(username, source, session))

    def failed(self, username: str, source: str) -> None:
        with self._lock:
            now = self.clock()
            for table, key in ((self._sources, source), (self._accounts, username)):
                f = self._current(table, key, now)
                f.count += 1
                f.last = now

    def succeeded(self, username: str, source: str, session: str) -> None:
        """A full sign-in (password and any second factor): the source's failures are cleared
        and the source and session become known to the account (its failures stay counted for
        strangers)."""
        with self._lock:
            now = self.clock()
            self._sources.pop(source, None)
            known = self._known.setdefault(username, {})
            known[source] = now
            known[session] = now
            if len(known) > MAX_KNOWN:
                for old in sorted(known, key=known.__getitem__)[: len(known) - MAX_KNOWN]:
                    del known[old]

    def reset(self) -> None:
        with self._lock:
            self._sources.clear()
            self._accounts.clear()
            self._known.clear()


THROTTLE = SignInThrottle()
