"""The servers behind one OpenAI-compatible endpoint: which one takes the next request.

`base_url` may list several servers of one model (one vLLM per GPU or node). Each request goes
to the least-loaded server in rotation. A server that fails several requests in a row is taken
out for a cool-down, then tried again; each time it fails again the cool-down doubles. The last
server in rotation is never taken out: when it fails too, the target's own "server stopped
answering" rule ends the run. Every server's record goes into the run's results.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from auditor.core.identity import ServerRecord

OUT_AFTER = 3  # failed requests in a row that take a server out of rotation
FIRST_COOLDOWN_S = 5.0
MAX_COOLDOWN_S = 60.0


@dataclass
class Server:
    url: str
    capacity: int  # requests in flight at most (the policy's `concurrency`)
    in_flight: int = 0
    sent: int = 0
    answered: int = 0
    failed: int = 0
    failures_in_a_row: int = 0
    out_until: float | None = None  # monotonic time it comes back; None while in rotation
    times_taken_out: int = 0
    cooldown_s: float = FIRST_COOLDOWN_S
    last_error: str | None = None

    def record(self) -> ServerRecord:
        return ServerRecord(url=self.url, requests=self.sent, answered=self.answered,
                            failed=self.failed, times_taken_out=self.times_taken_out,
                            in_rotation_at_end=self.out_until is None,
                            last_error=self.last_error)


@dataclass
class Fleet:
    servers: list[Server]
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @classmethod
    def of(cls, urls: list[str], capacity: int) -> Fleet:
        return cls([Server(url, capacity) for url in urls])

    @property
    def capacity(self) -> int:
        return sum(server.capacity for server in self.servers)

    async def acquire(self) -> Server:
        """The least-loaded server in rotation with room, waiting until there is one."""
        async with self._changed:
            while True:
                now = time.monotonic()
                self._bring_back(now)
                room = [s for s in self.servers if s.out_until is None and s.in_flight < s.capacity]
                if room:
                    chosen = min(room, key=lambda s: (s.in_flight, s.sent))
                    chosen.in_flight += 1
                    chosen.sent += 1
                    return chosen
                returns = [s.out_until for s in self.servers if s.out_until is not None]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(),
                                           timeout=max(0.01, min(returns) - now) if returns
                                           else None)

    async def release(self, server: Server, healthy: bool, error: str | None = None) -> None:
        """Hand a server back. `healthy` is False after a connection error, timeout or 5xx."""
        async with self._changed:
            server.in_flight -= 1
            if healthy:
                server.answered += 1
                server.failures_in_a_row = 0
            else:
                server.failed += 1
                server.failures_in_a_row += 1
                server.last_error = error
                if server.failures_in_a_row >= OUT_AFTER and server.out_until is None \
                        and self._others_in_rotation(server):
                    server.out_until = time.monotonic() + server.cooldown_s
                    server.times_taken_out += 1
                    server.cooldown_s = min(MAX_COOLDOWN_S, server.cooldown_s * 2)
            self._changed.notify_all()

    def _bring_back(self, now: float) -> None:
        for server in self.servers:
            if server.out_until is not None and now >= server.out_until:
                server.out_until = None
                server.failures_in_a_row = OUT_AFTER - 1  # on probation: one failure and out

    def _others_in_rotation(self, server: Server) -> bool:
        return any(s is not server and s.out_until is None for s in self.servers)

    def records(self) -> list[ServerRecord]:
        return [server.record() for server in self.servers]
