"""Profile → Email addresses: allauth's page (its flows, messages and emails), offering for
each address only what does something for it, and refusing the rest when posted anyway.

allauth offers every action for whichever address is chosen, and does them: "Make primary"
on the address already primary emailed "your email was changed from X to X", and "Send
confirmation again" sent a link to an address already confirmed. allauth itself refuses
only to remove the primary address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.views import EmailView
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

MAKE_PRIMARY, SEND, REMOVE = "action_primary", "action_send", "action_remove"


@dataclass(frozen=True)
class Offer:
    """What the page offers for one address."""

    address: EmailAddress

    @property
    def make_primary(self) -> bool:
        """A confirmed address that is not the primary one."""
        return self.address.verified and not self.address.primary

    @property
    def send(self) -> bool:
        """A new link, to an address not confirmed yet."""
        return not self.address.verified

    @property
    def remove(self) -> bool:
        """Any address but the primary one (the one you sign in with)."""
        return not self.address.primary

    def allows(self, action: str) -> bool:
        return {MAKE_PRIMARY: self.make_primary, SEND: self.send, REMOVE: self.remove}[action]

    def refusal(self, action: str) -> str:
        email = self.address.email
        if action == SEND:
            return f"{email} is already confirmed: there is no link to send."
        if action == REMOVE:
            return (
                f"{email} is your primary address, the one you sign in with: make another "
                "confirmed address primary before removing it."
            )
        if self.address.primary:
            return f"{email} is already your primary address."
        return f"Confirm {email} before making it primary: open the link we sent to it."


class EmailAddressesView(EmailView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The action allauth would take, in its order.
        action = next((a for a in (SEND, REMOVE, MAKE_PRIMARY) if a in request.POST), None)
        if action and "action_add" not in request.POST and request.POST.get("email"):
            address = self._get_email_address(request)  # the signed-in user's own, or None
            if address is not None and not Offer(address).allows(action):
                messages.error(request, Offer(address).refusal(action))
                return HttpResponseRedirect(str(self.success_url))
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["offers"] = [Offer(address) for address in context["emailaddresses"]]
        return context


email = EmailAddressesView.as_view()
