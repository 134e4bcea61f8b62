"""Access to the per-app sandbox objects from inside request handlers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .delivery import WebhookSender
from .idtoken import IdTokenSigner
from .state import Store

EXTENSION_KEY = "pagerduty_sandbox"


@dataclass
class Sandbox:
    """What every blueprint needs: the state, the ID token signer, the webhook sender."""

    store: Store
    signer: IdTokenSigner
    webhooks: WebhookSender


def sandbox() -> Sandbox:
    ctx: Sandbox = current_app.extensions[EXTENSION_KEY]
    return ctx


def store() -> Store:
    return sandbox().store
