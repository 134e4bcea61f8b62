"""What clearing open firings sends to PagerDuty, in words that say no more than Tripwire
knows. A resolve for an incident of a service connected through OAuth resolves an incident
Tripwire sees; one for a trigger PagerDuty accepted for a pasted key's service (or a service
no longer in Tripwire) goes out all the same, but whether that incident was still open
(someone may have resolved it there) only PagerDuty knows; `reach.unseen_why` says why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from alerts_saas.alerts.reach import causes_of, unseen_among, unseen_why
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
    # Why Tripwire can't see the `unseen` ones (`reach.unseen_why`): pasted keys, or gone.
    why: str = field(default="", compare=False)

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
        unseen = unseen_among(accepted, syncing)
        why = unseen_why(*causes_of(unseen), many=len(unseen) > 1)
        to = tuple(sorted({t.service_name for t in triggers}, key=str.lower))
        return cls(len(triggers) - len(unseen), len(unseen), to, why)

    @classmethod
    def counted(cls, sent: int, unseen: int, why: str = "") -> Resolves:
        """`sent` resolves queued, `unseen` of them (read before) for services Tripwire
        can't see, for the reason `why` (`reach.unseen_why`)."""
        unseen = min(sent, unseen)
        return cls(sent - unseen, unseen, why=why if unseen else "")

    @property
    def total(self) -> int:
        return self.seen + self.unseen

    def sending(self, open_word: str = "") -> str:
        """What is being sent, as a clause: "its incident is being resolved in PagerDuty",
        "a resolve is being sent to PagerDuty for its page: Tripwire can't see whether that
        incident was still open (the service was added with a pasted key)". `open_word`
        ("open") goes before "incident". Empty when nothing is sent."""
        said = []
        if self.seen == 1:
            said.append(f"its {_word(open_word)}incident is being resolved in PagerDuty")
        elif self.seen:
            said.append(
                f"its {self.seen} {_word(open_word)}incidents are being resolved in PagerDuty"
            )
        if self.unseen == 1:
            said.append(
                "a resolve is being sent to PagerDuty for its page: Tripwire can't see whether "
                f"that incident was still open{self._because}"
            )
        elif self.unseen:
            said.append(
                f"resolves are being sent to PagerDuty for its {self.unseen} pages: Tripwire "
                f"can't see whether those incidents were still open{self._because}"
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
                "sends PagerDuty a resolve for its page: Tripwire can't see whether that "
                f"incident is still open{self._because}"
            )
        elif self.unseen:
            said.append(
                f"sends PagerDuty a resolve for each of its {self.unseen} pages: Tripwire "
                f"can't see whether those incidents are still open{self._because}"
            )
        if not said:
            doing = doing.lower()
            return f"No incident is open in PagerDuty for it, so {doing} sends nothing there."
        return f"{doing} {', and '.join(said)}."

    @property
    def _because(self) -> str:
        return f" ({self.why})" if self.why else ""

    @property
    def to_words(self) -> str:
        """Whom the resolves go to, as a sentence: "It goes to Android Sync."; "" if none."""
        if not self.to or not self.total:
            return ""
        going = "It goes" if self.total == 1 else "They go"
        return f"{going} to {listed(self.to)}."


def _word(word: str) -> str:
    return f"{word} " if word else ""
