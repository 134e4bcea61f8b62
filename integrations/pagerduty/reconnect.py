"""What "needs reconnecting" means, in the same words wherever it is said.

An account needs reconnecting when PagerDuty withdrew Tripwire's access to it (its grant was
revoked, `tokens.py`). That is not paging broken: deliveries use the services' integration
keys, not the account's access, so pages still go out. What stops is what Tripwire does as
the account: acknowledging and resolving from Tripwire, reading who is on call, and incident
updates that come through it. The emails, banner, dashboard, problems page, Integrations
and alert pages say it with these words, below a broken paging path in severity.
"""

from __future__ import annotations

STOPPED = (
    "acknowledging and resolving from Tripwire, seeing who is on call, "
    "and incident updates through it"
)
STILL = "Pages still go out (they use the services' integration keys)."
# For a subject line or a banner: short.
SHORT = "acknowledging and on-call from Tripwire stopped; pages still go out"


def what_stopped(account_name: str) -> str:
    """What an account to reconnect leaves working and what it stops, in two sentences."""
    return f"{STILL} Stopped until {account_name} is reconnected: {STOPPED}."


def act_refused(label: str, done: str, instead: str, account_name: str) -> str:
    """Why Acknowledge, Resolve or a note did nothing, and what to do: no OAuth words.
    `instead`: what to do in PagerDuty meanwhile ("Acknowledge it")."""
    return (
        f"{label} was not {done}: Tripwire can't act in PagerDuty until the PagerDuty account "
        f"{account_name} is reconnected (its access was withdrawn in PagerDuty). "
        f"{instead} in PagerDuty's app or website for now; pages still go out. "
        "To fix it, reconnect the account in Integrations."
    )


def cannot_list(account_name: str) -> str:
    """Why the service picker shows no services for an account to reconnect: no OAuth words."""
    return (
        f"PagerDuty no longer lets Tripwire use {account_name} (access was revoked or "
        "expired). Reconnect it to list its services; pages to its services still go out "
        "with their keys."
    )
