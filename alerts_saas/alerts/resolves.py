"""What clearing open firings sends to PagerDuty, in words that say no more than Tripwire
knows. A resolve for an incident of a service connected through OAuth resolves an incident
Tripwire sees; one for a trigger PagerDuty accepted for a pasted key's service (or a service
since removed) goes out all the same, but whether that incident was still open (someone may
have resolved it there) only PagerDuty knows: as `reach.incident_unseen` says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from alerts_saas.words import listed
from integrations.pagerduty.models import Delivery, PagerDutyService


@dataclass(frozen=True)
class Resolves:
    """How many resolves clearing sends: for incidents Tripwire sees (`seen`), and for
    accepted triggers to services PagerDuty tells it nothing of (`unseen`)."""

    seen: int = 0
    unseen: int = 0
    # The services the resolves go to, by the names their triggers went under (`of` only).
    to: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, organization_id: int, triggers: Sequence[Delivery]) -> Resolves:
        """From the triggers whose incidents clearing resolves (`delivery.open_triggers`);
        one query for which of their services are connected through OAuth, none without an
        accepted trigger. A trigger not accepted yet is followed by its resolve, so that
        incident is resolved as soon as it is opened: seen."""
        accepted = [t for t in triggers if t.status == Delivery.Status.DELIVERED]
        services = {t.service_id for t in accepted if t.service_id is not None}
        syncing = (
            set(
                PagerDutyService.objects.filter(
                    organization_id=organization_id, pk__in=services, account__isnull=False
                ).values_list("pk", flat=True)
            )
            if services
            else set()
        )
        unseen = sum(1 for t in accepted if t.service_id not in syncing)
        to = tuple(sorted({t.service_name for t in triggers}, key=str.lower))
        return cls(len(triggers) - unseen, unseen, to)

    @classmethod
    def counted(cls, sent: int, unseen: int) -> Resolves:
        """`sent` resolves queued, `unseen` of them (read before) for pasted keys."""
        unseen = min(sent, unseen)
        return cls(sent - unseen, unseen)

    @property
    def total(self) -> int:
        return self.seen + self.unseen

    def sending(self, open_word: str = "") -> str:
        """What is being sent, as a clause: "its incident is being resolved in PagerDuty",
        "a resolve is being sent to PagerDuty for its page to a service added with a pasted
        key: Tripwire can't see whether that incident was still open". `open_word` ("open")
        goes before "incident". Empty when nothing is sent."""
        said = []
        if self.seen == 1:
            said.append(f"its {_word(open_word)}incident is being resolved in PagerDuty")
        elif self.seen:
            said.append(
                f"its {self.seen} {_word(open_word)}incidents are being resolved in PagerDuty"
            )
        if self.unseen == 1:
            said.append(
                "a resolve is being sent to PagerDuty for its page to a service added with a "
                "pasted key: Tripwire can't see whether that incident was still open"
            )
        elif self.unseen:
            said.append(
                f"resolves are being sent to PagerDuty for its {self.unseen} pages to services "
                "added with pasted keys: Tripwire can't see whether those incidents were still "
                "open"
            )
        return ", and ".join(said)

    def sent_words(self, open_word: str = "") -> str:
        """`sending` as a sentence, or that nothing was sent."""
        if not self.total:
            return "No incident was open in PagerDuty for it, so nothing was sent there."
        clause = self.sending(open_word)
        return f"{clause[:1].upper()}{clause[1:]}."

    def will_words(self, doing: str) -> str:
        """What `doing` ("Deleting it") will send, as a sentence."""
        said = []
        if self.seen:
            said.append(f"resolves its open incident{'s' if self.seen > 1 else ''} in PagerDuty")
        if self.unseen == 1:
            said.append(
                "sends PagerDuty a resolve for its page to a service added with a pasted key: "
                "Tripwire can't see whether that incident is still open"
            )
        elif self.unseen:
            said.append(
                f"sends PagerDuty a resolve for each of its {self.unseen} pages to services "
                "added with pasted keys: Tripwire can't see whether those incidents are still "
                "open"
            )
        if not said:
            doing = doing.lower()
            return f"No incident is open in PagerDuty for it, so {doing} sends nothing there."
        return f"{doing} {', and '.join(said)}."

    @property
    def to_words(self) -> str:
        """Whom the resolves go to, as a sentence: "It goes to Android Sync."; "" if none."""
        if not self.to or not self.total:
            return ""
        going = "It goes" if self.total == 1 else "They go"
        return f"{going} to {listed(self.to)}."


def _word(word: str) -> str:
    return f"{word} " if word else ""
