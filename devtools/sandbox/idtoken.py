"""OpenID ID tokens: RS256-signed JWTs with PagerDuty's documented claims, plus JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REGION_NAMES = {"us": "UnitedStates", "eu": "EuropeanUnion"}
API_AUDIENCE = {"us": "https://api.pagerduty.com", "eu": "https://api.eu.pagerduty.com"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class IdTokenSigner:
    """Holds a per-process RSA key; signs ID tokens and publishes the public key."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._key.public_key().public_numbers()
        self.kid = str(int.from_bytes(hashlib.sha256(_int_b64(numbers.n).encode()).digest()[:4]))
        self._jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _int_b64(numbers.n),
            "e": _int_b64(numbers.e),
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"kid": self.kid, "alg": "RS256", "typ": "JWT"}
        signing_input = ".".join(
            b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def id_token(
        self,
        *,
        issuer: str,
        client_id: str,
        region: str,
        account_id: str,
        subdomain: str,
        user_id: str,
        access_token: str,
        delegation_id: str,
        auth_time: int,
        lifetime: int,
    ) -> str:
        """An ID token carrying the claims listed in PagerDuty's OpenID token docs."""
        now = int(time.time())
        acr = f"acr:html-form:{REGION_NAMES[region].lower()}"
        claims = {
            "exp": now + lifetime,
            "nbf": now,
            "jti": str(uuid.uuid4()),
            "iss": issuer,
            "aud": [API_AUDIENCE[region], client_id],
            "sub": user_id,
            "auth_time": auth_time,
            "iat": now,
            "purpose": "id",
            "at_hash": at_hash(access_token),
            "acr": acr,
            "delegation_id": delegation_id,
            "product_abilities": [],
            "account_id": account_id,
            "user_id": user_id,
            "azp": client_id,
            "amr": acr,
            "subdomain": subdomain,
            "region": REGION_NAMES[region],
            "sid": secrets.token_urlsafe(12),
        }
        return self.sign(claims)


def at_hash(access_token: str) -> str:
    """OpenID Connect at_hash: left half of SHA-256 of the token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])
