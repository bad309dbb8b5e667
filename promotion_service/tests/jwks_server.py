"""A real JWKS endpoint for tests (stdlib HTTP server on a thread) and a token factory."""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm, RSAPSSAlgorithm

ISSUER = "urn:bank:login"
AUDIENCE = "urn:bank:api"
HOST = "127.0.0.1"

type PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: PrivateKey
    public_jwk: dict[str, Any]

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def make_key(alg: str) -> SigningKey:
    kid = f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
    private: PrivateKey
    if alg in ("RS256", "PS256"):
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = rsa_key
        jwk = json.loads(
            (RSAAlgorithm if alg == "RS256" else RSAPSSAlgorithm).to_jwk(rsa_key.public_key())
        )
    elif alg == "ES256":
        ec_key = ec.generate_private_key(ec.SECP256R1())
        private = ec_key
        jwk = json.loads(ECAlgorithm.to_jwk(ec_key.public_key()))
    elif alg == "EdDSA":
        ed_key = ed25519.Ed25519PrivateKey.generate()
        private = ed_key
        jwk = json.loads(OKPAlgorithm.to_jwk(ed_key.public_key()))
    else:
        raise ValueError(alg)
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return SigningKey(kid=kid, alg=alg, private=private, public_jwk=jwk)


def make_token(
    key: SigningKey,
    sub: str = "acct-00001",
    *,
    claims: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    headers: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "iat": now,
        "exp": now + 1800,
        "jti": uuid.uuid4().hex,
    }
    payload.update(claims or {})
    for name in drop:
        payload.pop(name, None)
    return jwt.encode(
        payload, key.private, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})}
    )


@dataclass
class JwksServer:
    """Serves {"keys": [...]} at /.well-known/jwks.json; counts fetches; can be made to fail."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0
    failing: bool = False
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def start(self) -> "JwksServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                if owner.failing or self.path != "/.well-known/jwks.json":
                    self.send_response(503 if owner.failing else 404)
                    self.end_headers()
                    return
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{HOST}:{self._server.server_port}/.well-known/jwks.json"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
