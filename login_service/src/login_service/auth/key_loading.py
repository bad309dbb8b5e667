"""Where the signing key comes from: a PEM file, a variable, or (development only) a local file."""

import contextlib
import os
import secrets
from pathlib import Path

from login_service.auth.keys import (
    SUPPORTED_ALGORITHMS,
    KeySet,
    PrivateKey,
    VerificationKey,
    default_algorithm_for,
    generate_private_key,
    load_private_key_pem,
    load_public_key_pem,
    private_key_pem,
)
from login_service.config import Settings
from login_service.errors import KeyConfigurationError


def load_key_set(settings: Settings) -> KeySet:
    """Build the key set from settings; refuse a development key in production."""
    algorithm = settings.jwt_algorithm
    if settings.jwt_private_key_file is not None:
        private_key = load_private_key_pem(settings.jwt_private_key_file.read_bytes())
    elif settings.jwt_private_key is not None:
        private_key = load_private_key_pem(settings.jwt_private_key.get_secret_value().encode())
    elif settings.is_production:
        raise KeyConfigurationError("production mode refuses a development signing key")
    else:
        private_key = load_or_create_dev_key(settings.dev_key_dir, algorithm)
    previous = tuple(
        _public_key(entry, algorithm) for entry in settings.jwt_previous_public_keys_files
    )
    upcoming = tuple(_public_key(entry, algorithm) for entry in settings.jwt_next_public_keys_files)
    return KeySet.create(private_key, algorithm, previous, upcoming)


def _public_key(entry: str, current_algorithm: str) -> VerificationKey:
    """Parse ``[ALG:]path``, e.g. ``PS256:/keys/old.pem`` or ``/keys/old.pem``."""
    algorithm, sep, path = entry.partition(":")
    if not sep or algorithm not in SUPPORTED_ALGORITHMS:
        algorithm, path = "", entry
    public_key = load_public_key_pem(Path(path).read_bytes())
    return VerificationKey.of(
        public_key, algorithm or default_algorithm_for(public_key, current_algorithm)
    )


def load_or_create_dev_key(directory: Path, algorithm: str) -> PrivateKey:
    """Read the development key, creating it (mode 0600) on first start.

    Several workers may start at once, in several containers sharing the folder: the key is
    written to a temporary file of its own (a random name: process ids repeat across
    containers, and two writers of one file made two keys) and linked into place, so exactly
    one file wins and all workers read it.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / f"jwt-{algorithm.lower()}.pem"
    if not path.exists():
        temporary = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(private_key_pem(generate_private_key(algorithm)))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return load_private_key_pem(path.read_bytes())
