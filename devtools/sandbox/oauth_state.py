"""OAuth 2.0 state: pending authorizations, codes, delegations (grants) and tokens."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .config import SandboxConfig
    from .state import Account, User


@dataclass
class PendingAuthorization:
    """A validated /oauth/authorize request waiting for sign-in and consent."""

    id: str
    client_id: str
    redirect_uri: str
    scope: str  # what will be granted
    scope_requested: str
    state: str | None
    code_challenge: str | None
    created_at: float


@dataclass
class AuthCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    expires_at: float
    auth_time: int
    used: bool = False
    delegation_id: str | None = None


@dataclass
class Delegation:
    """A user's grant to the OAuth client; all its tokens live and die together."""

    id: str
    client_id: str
    user_id: str
    account_id: str
    scope: str
    auth_time: int
    revoked: bool = False


@dataclass
class Token:
    value: str
    kind: Literal["access", "refresh"]
    delegation_id: str
    expires_at: float
    revoked: bool = False

    def usable(self, now: float | None = None) -> bool:
        return not self.revoked and (time.time() if now is None else now) < self.expires_at


class OAuthStore:
    """The Store's OAuth methods (a mixin: ``Store`` provides the attributes below)."""

    lock: threading.RLock
    config: SandboxConfig
    accounts: dict[str, Account]
    pending: dict[str, PendingAuthorization]
    codes: dict[str, AuthCode]
    delegations: dict[str, Delegation]
    tokens: dict[str, Token]

    def add_pending(self, **fields: Any) -> PendingAuthorization:
        with self.lock:
            pending = PendingAuthorization(
                id=secrets.token_urlsafe(16), created_at=time.time(), **fields
            )
            self.pending[pending.id] = pending
            return pending

    def get_pending(self, pending_id: str, max_age: float = 1800) -> PendingAuthorization | None:
        with self.lock:
            pending = self.pending.get(pending_id)
            if pending and time.time() - pending.created_at > max_age:
                self.pending.pop(pending_id, None)
                return None
            return pending

    def pop_pending(self, pending_id: str) -> PendingAuthorization | None:
        with self.lock:
            return self.pending.pop(pending_id, None)

    def issue_code(self, pending: PendingAuthorization, user: User, auth_time: int) -> AuthCode:
        with self.lock:
            code = AuthCode(
                code=secrets.token_urlsafe(24),
                client_id=pending.client_id,
                user_id=user.id,
                redirect_uri=pending.redirect_uri,
                scope=pending.scope,
                code_challenge=pending.code_challenge,
                expires_at=time.time() + self.config.code_lifetime,
                auth_time=auth_time,
            )
            self.codes[code.code] = code
            return code

    def create_delegation(
        self, client_id: str, user: User, scope: str, auth_time: int
    ) -> Delegation:
        with self.lock:
            delegation = Delegation(
                id=str(uuid.uuid4()),
                client_id=client_id,
                user_id=user.id,
                account_id=user.account_id,
                scope=scope,
                auth_time=auth_time,
            )
            self.delegations[delegation.id] = delegation
            return delegation

    def issue_tokens(self, delegation: Delegation) -> tuple[Token, Token]:
        """New access + refresh token pair for a delegation."""
        with self.lock:
            region = self.accounts[delegation.account_id].region
            marker = secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + secrets.token_hex(3).upper()
            now = time.time()
            access = Token(
                value=f"pd{region}+_0X{marker}_{uuid.uuid4()}",
                kind="access",
                delegation_id=delegation.id,
                expires_at=now + self.config.token_lifetime,
            )
            refresh = Token(
                value=f"pd{region}+_1X{marker}_{uuid.uuid4()}",
                kind="refresh",
                delegation_id=delegation.id,
                expires_at=now + self.config.refresh_token_lifetime,
            )
            self.tokens[access.value] = access
            self.tokens[refresh.value] = refresh
            return access, refresh

    def revoke_delegation(self, delegation_id: str) -> None:
        with self.lock:
            delegation = self.delegations.get(delegation_id)
            if delegation:
                delegation.revoked = True
            for token in self.tokens.values():
                if token.delegation_id == delegation_id:
                    token.revoked = True

    def token(self, value: str, kind: Literal["access", "refresh"]) -> Token | None:
        with self.lock:
            token = self.tokens.get(value)
            return token if token is not None and token.kind == kind else None
