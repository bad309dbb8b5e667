"""Keys the login guard derives from one secret, each for one purpose (HKDF-SHA256).

The secret is ``LOGIN_DEVICE_TOKEN_KEY`` (with its upcoming and retired neighbours), or in
development the signing key. A secret of its own lets the signing key rotate without
every device losing its trust at once, a moment an attacker could pick for guessing.
"""

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from login_service.config import Settings

DEVICE_TOKENS = b"login-service device tokens v1"
PSEUDO_ACCOUNTS = b"login-service pseudo accounts v1"


def derive_key(secret: bytes, purpose: bytes) -> bytes:
    """A 256-bit key for ``purpose``; distinct purposes give unrelated keys."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
    return hkdf.derive(secret)


def guard_secrets(settings: Settings, signing_key_der: bytes) -> tuple[bytes, tuple[bytes, ...]]:
    """The current secret, then the others whose device tokens are read: the upcoming ones
    (trusted before any replica issues under them) and the retired ones."""
    if settings.device_token_key is None:
        return signing_key_der, ()
    current = settings.device_token_key.get_secret_value().encode()
    others = [*settings.device_token_next_keys, *settings.device_token_previous_keys]
    return current, tuple(key.get_secret_value().encode() for key in others)
