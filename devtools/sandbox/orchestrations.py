"""Global Event Orchestrations: a routing key that routes each event to a service.

As PagerDuty documents them (REST.openapi.json, `OrchestrationIntegration`; Events API v2
overview): an orchestration's integration has a `routing_key` such as
R022XIJR9M266DX570EVE6EXP1AFBN6D ("R" and 31 capital letters and digits) and `type`
"global"; events sent with it to /v2/enqueue go through the orchestration's router, which
routes them to a service or leaves them unrouted (its catch-all, "unrouted" by default);
"change events cannot be sent to ruleset integration keys (these keys begin with the
character R)". The sandbox's router has only its catch-all: every event goes to `route_to`,
or nowhere when it is None. Follow-up events find their alert by routing key and dedup key,
as for an integration key.
"""

from __future__ import annotations

import random
import re
import string
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .clock import iso_precise, utcnow

if TYPE_CHECKING:
    from .state import Account, Integration, Region, Service

ROUTING_KEY = re.compile(r"^R[A-Z0-9]{31}$")
INTEGRATION_TYPE = "global"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class Orchestration:
    id: str
    account_id: str
    name: str
    integration_id: str
    routing_key: str
    route_to: str | None  # the router's catch-all: a service id, or None for "unrouted"
    created_at: datetime

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "event_orchestration",
            "account_id": self.account_id,
            "name": self.name,
            "integrations": [
                {
                    "id": self.integration_id,
                    "label": f"{self.name} Default Integration",
                    "parameters": {"routing_key": self.routing_key, "type": INTEGRATION_TYPE},
                }
            ],
            "routing_key": self.routing_key,
            "route_to": self.route_to or "unrouted",
            "created_at": iso_precise(self.created_at),
        }


class KeyFactory:
    """Seeded routing keys ("R0" and 30 capital letters and digits, like PagerDuty's
    examples), from a generator of their own so the seed's other ids stay as they were."""

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)

    def routing_key(self) -> str:
        return "R0" + "".join(self._rng.choices(_KEY_ALPHABET, k=30))

    def uuid(self) -> str:
        """Orchestrations and their integrations have UUIDs for ids."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


class OrchestrationStore:
    """The orchestration half of the sandbox's Store."""

    lock: threading.RLock
    accounts: dict[str, Account]
    services: dict[str, Service]
    orchestrations: dict[str, Orchestration]
    orchestration_keys: KeyFactory

    def add_orchestration(
        self,
        account: Account,
        name: str,
        route_to: Service | None,
        created_at: datetime | None = None,
    ) -> Orchestration:
        with self.lock:
            keys = self.orchestration_keys
            orchestration = Orchestration(
                id=keys.uuid(),
                account_id=account.id,
                name=name,
                integration_id=keys.uuid(),
                routing_key=keys.routing_key(),
                route_to=route_to.id if route_to else None,
                created_at=created_at or utcnow(),
            )
            self.orchestrations[orchestration.id] = orchestration
            return orchestration

    def set_route(self, orchestration_id: str, route_to: Service | None) -> Orchestration | None:
        """What editing the router's catch-all does in PagerDuty."""
        with self.lock:
            orchestration = self.orchestrations.get(orchestration_id)
            if orchestration is not None:
                orchestration.route_to = route_to.id if route_to else None
            return orchestration

    def orchestration_for_key(self, routing_key: str, region: Region) -> Orchestration | None:
        """The orchestration owning ``routing_key``, only if its account is in ``region``."""
        with self.lock:
            found = next(
                (o for o in self.orchestrations.values() if o.routing_key == routing_key), None
            )
            if found is None or self.accounts[found.account_id].region != region:
                return None
            return found

    def routed_integration(self, orchestration: Orchestration) -> Integration | None:
        """The orchestration as the integration its events arrive through, on the service
        its router sends them to; None when they are unrouted."""
        from .state import Integration

        with self.lock:
            service = self.services.get(orchestration.route_to or "")
            if service is None or service.deleted_at is not None:
                return None
            return Integration(
                id=orchestration.integration_id,
                account_id=orchestration.account_id,
                service_id=service.id,
                type=INTEGRATION_TYPE,
                name=orchestration.name,
                created_at=orchestration.created_at,
                integration_key=orchestration.routing_key,
            )

    def routing_key_of(self, integration_id: str) -> str | None:
        """The routing key of an orchestration integration (alerts keep its id)."""
        with self.lock:
            return next(
                (
                    o.routing_key
                    for o in self.orchestrations.values()
                    if o.integration_id == integration_id
                ),
                None,
            )
