"""Who is acting, and from where: one context per request (or per `acting` block), kept in
a context variable so that model signals can read it without the request in hand.

The middleware opens a context for every request and reads nothing until an entry is
written: the user is resolved then (a request that changes nothing costs no query). A
request of the management API acts as the API token its authentication found (django-ninja
puts it on `request.auth`), or as one named with `act_as_token`. Outside any context (beat,
a worker, a shell), the actor is "system".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from alerts_saas.audit import registry
from alerts_saas.audit.models import ActorKind

USER_AGENT_CHARS = 200
T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    kind: str
    label: str
    user_id: int | None = None
    token_id: int | None = None
    ip: str | None = None
    user_agent: str = ""


SYSTEM = Actor(kind=ActorKind.SYSTEM, label="system")


@dataclass
class Context:
    """What a request knows of its actor, and the entries it wrote so far (so that the
    parts of one change, an alert and its targets and details, make one entry)."""

    request: HttpRequest | None = None
    token: Model | None = None
    user: Model | None = None
    # (object type, object id) -> the entry's primary key, for entries written in this context.
    written: dict[tuple[str, str], int] = field(default_factory=dict)
    # Objects being deleted in this context (their children's deletions are part of theirs).
    deleting: set[tuple[str, str]] = field(default_factory=set)
    # Organizations being deleted: nothing is recorded for them (their entries go too).
    deleting_organizations: set[int] = field(default_factory=set)

    def actor(self) -> Actor:
        ip, agent = _origin(self.request) if self.request is not None else (None, "")
        token = self.token or _request_token(self.request)
        if token is not None:
            name = getattr(token, "name", "") or str(token.pk)
            return Actor(ActorKind.TOKEN, f"API token “{name}”", None, token.pk, ip, agent)
        user = self.user
        if user is None and self.request is not None:
            user = getattr(self.request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return Actor(ActorKind.USER, str(user), user.pk, None, ip, agent)
        if self.request is not None:
            return Actor(ActorKind.SYSTEM, "system", None, None, ip, agent)
        return SYSTEM


def _request_token(request: HttpRequest | None) -> Model | None:
    """The API token django-ninja's authentication put on the request (`request.auth`)."""
    auth = getattr(request, "auth", None)
    tokens = registry.tracked_model("api_token")
    return auth if tokens is not None and isinstance(auth, tokens) else None


_current: ContextVar[Context | None] = ContextVar("audit_context", default=None)


def current() -> Context:
    """The context in force; a fresh one (acting as the system) outside any."""
    return _current.get() or Context()


def in_context() -> Context | None:
    return _current.get()


@contextmanager
def acting(
    *, request: HttpRequest | None = None, user: Model | None = None, token: Model | None = None
) -> Iterator[Context]:
    """Record the changes made inside the block as made by `user` or `token` (or the
    request's user), e.g. a management command acting for someone, or a test."""
    ctx = Context(request=request, user=user, token=token)
    reset = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(reset)


def act_as_token(token: Model) -> None:
    """The management API's authentication calls this once it knows the request's token:
    the changes the request makes are then the token's."""
    ctx = _current.get()
    if ctx is None:
        _current.set(Context(token=token))
    else:
        ctx.token = token


class Marks(Generic[T]):
    """A set kept per context (per thread outside any), for marks that one signal
    leaves for a later one of the same operation."""

    def __init__(self, name: str) -> None:
        self._var: ContextVar[set[T] | None] = ContextVar(name, default=None)

    def get(self) -> set[T]:
        marks = self._var.get()
        if marks is None:
            marks = set()
            self._var.set(marks)
        return marks


def _origin(request: HttpRequest) -> tuple[str | None, str]:
    """The client's address and user agent (cut to 200 characters). Behind our proxies
    (ALLAUTH_TRUSTED_PROXY_COUNT of them, as allauth's limits read it) the address is the
    one they added to X-Forwarded-For: the ones before it are whatever the client claimed."""
    address = request.META.get("REMOTE_ADDR") or None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0)
    hops = forwarded.split(",") if forwarded else []
    if proxies and len(hops) >= proxies:
        address = hops[-proxies].strip() or address
    agent = str(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_CHARS]
    return _valid_ip(address), agent


def _valid_ip(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class AuditContextMiddleware:
    """Opens the request's audit context (after authentication, which it reads lazily)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reset = _current.set(Context(request=request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(reset)


def describe(ctx: Context) -> dict[str, Any]:
    """The actor's columns of an entry."""
    actor = ctx.actor()
    return {
        "actor_kind": actor.kind,
        "actor_user_id": actor.user_id,
        "actor_token_id": actor.token_id,
        "actor_label": actor.label[:254],
        "ip": actor.ip,
        "user_agent": actor.user_agent,
    }
