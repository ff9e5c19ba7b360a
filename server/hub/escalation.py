"""Escalation: a case nobody acknowledges is raised again, every `escalation_seconds`, until someone does.

Why the timer is not a timer: a node's `call_later` dies with the node. Each case's next escalation
is derived from durable state instead (`opened`, or `last_raised` once raised, plus the escalation
time), and every node looks at the unresolved cases a few times per escalation period. Exactly one
node raises each escalation:

- a lease per case (`Store.lease`: on Redis `SET pc:{cases}:lease:<id> <node> NX PX <ms>`, renewed by
  its holder on every look) says which node watches the case; a node that dies stops renewing, and
  another node takes the lease over within `lease_ms` and raises the case from the same durable
  timestamps;
- the escalation itself is recorded with a compare-and-set on `last_raised` (`Store.case_raised`),
  so even two nodes that both believed they held the lease (a paused process) raise it once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING

from server.broker.base import BrokerUnavailable
from server.store.base import StoreUnavailable

if TYPE_CHECKING:
    from server.hub.crisis import Crisis

log = logging.getLogger(__name__)


class Escalation:
    def __init__(self, crisis: Crisis) -> None:
        self.crisis = crisis
        self.store = crisis.store
        self.node = secrets.token_hex(6)
        seconds = crisis.config.escalation_seconds
        self.escalation_ms = int(seconds * 1000)
        # Look four times per escalation period (at most once a second): an escalation is raised
        # at most a quarter period late. A lease outlives four missed looks.
        self.tick = min(1.0, seconds / 4)
        self.lease_ms = int(max(4 * self.tick, 1.0) * 1000)

    async def run_forever(self) -> None:
        log.info("crisis escalation: node %s looks every %.2f s", self.node, self.tick)
        failing = False
        while True:
            try:
                await self.look(int(time.time() * 1000))
                if failing:
                    log.info("crisis escalation: the store is reachable again")
                failing = False
            except (StoreUnavailable, BrokerUnavailable):
                if not failing:
                    log.error("crisis escalation: cases cannot be checked: backend unavailable")
                failing = True
            except Exception:
                log.exception("crisis escalation: a look at the cases failed")
            await asyncio.sleep(self.tick)

    async def look(self, now_ms: int) -> int:
        """Raise every open case whose escalation is due and whose lease this node holds; how many."""
        raised = 0
        for case in await self.store.cases():
            if case.state != "open":
                continue  # acknowledged or claimed: a person has it
            if not await self.store.lease("case:" + case.id, self.node, self.lease_ms):
                continue  # another node watches this one
            if now_ms < (case.last_raised or case.opened) + self.escalation_ms:
                continue
            updated = await self.store.case_raised(case.id, case.last_raised, now_ms)
            if updated is not None:
                raised += 1
                await self.crisis.escalated(updated)
        return raised
