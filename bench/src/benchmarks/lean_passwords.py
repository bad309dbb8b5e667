"""The lean app's password operations: a successful non-first login's work and a
registration's, nothing else, on the same Uvicorn setup as the services.

``POST /login``: the account read, the read of its four failure windows, one Argon2id
verification (the service's defaults) on a hashing thread of the worker's own, an RS256
token signed with the login service's key (``REFERENCE_SIGNING_KEY_FILE``), a device token
(HS256), the ``last_login_at`` write, and the response with its cookie. ``POST /register``:
the client network's registration window counted (one ``findAndModify``), one Argon2id
hash, the account inserted, a device token, the profile answered 201 with its cookie; it
does not normalise the email and phone as the service does, nor read a presented device
token (so both are a little cheaper than the service's work).
"""

import asyncio
import hashlib
import os
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from fastapi import APIRouter, HTTPException, Request, Response
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pymongo import ReturnDocument

from benchmarks.floors import MEMORY_COST_KIB, PARALLELISM, TIME_COST
from benchmarks.lean_models import (
    AUDIENCE,
    ISSUER,
    LoginBody,
    Profile,
    RegisterBody,
    TokenResponse,
)

TOKEN_SECONDS = 900
DEVICE_SECONDS = 30 * 24 * 3600
WINDOW_SECONDS = 900

router = APIRouter()


def open_password_state(state: Any, jwk: jwt.PyJWK) -> None:
    """The signing key, a device-token key, the hasher and its threads, on ``state``."""
    state.kid = jwk.key_id
    pem = Path(os.environ["REFERENCE_SIGNING_KEY_FILE"]).read_bytes()
    state.signing_key = jwt.api_jws.get_algorithm_by_name(jwk.algorithm_name).prepare_key(pem)
    state.device_key = secrets.token_bytes(32)
    state.hasher = PasswordHash(
        (Argon2Hasher(memory_cost=MEMORY_COST_KIB, time_cost=TIME_COST, parallelism=PARALLELISM),)
    )
    # As the service: the CPUs this process may use, shared by its workers.
    threads = max(1, len(os.sched_getaffinity(0)) // int(os.environ.get("REFERENCE_WORKERS", "1")))
    state.hashing = ThreadPoolExecutor(threads, thread_name_prefix="argon2")


def _attach_device(response: Response, key: bytes, account_id: str, issued: int) -> None:
    """A device token naming the account, as cookie and header."""
    claims = {"aud": "device", "jti": uuid.uuid4().hex, "acc": [account_id], "iat": issued}
    claims["exp"] = issued + DEVICE_SECONDS
    device = jwt.encode(claims, key, algorithm="HS256")
    response.set_cookie("device", device, max_age=DEVICE_SECONDS, httponly=True)
    response.headers["x-device-token"] = device


@router.post("/login", response_model=TokenResponse)
async def login(request: Request, body: LoginBody, response: Response) -> TokenResponse:
    state = request.app.state
    account = await state.accounts.find_one({"username_key": body.identifier.casefold()})
    if account is None:
        raise HTTPException(401)
    # The failure windows a refusal would be decided on (per identifier and network,
    # per network, per account, per account and day).
    now = datetime.now(UTC)
    issued = int(now.timestamp())
    start = issued // WINDOW_SECONDS * WINDOW_SECONDS
    typed = hashlib.sha256(body.identifier.encode()).hexdigest()[:32]
    client = request.client.host if request.client else "unknown"
    keys = [f"{typed}|{client}", client, account["_id"], account["_id"]]
    scopes = ("identifier", "client", "account", "account_daily")
    ids = [f"{scope}:{start}:{key}" for scope, key in zip(scopes, keys, strict=True)]
    await state.failures.find({"_id": {"$in": ids}}, {"count": 1}).to_list()
    ok, _ = await asyncio.get_running_loop().run_in_executor(
        state.hashing, state.hasher.verify_and_update, body.password, account["password_hash"]
    )
    if not ok:
        raise HTTPException(401)
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": account["_id"], "iat": issued}
    claims |= {"exp": issued + TOKEN_SECONDS, "jti": uuid.uuid4().hex}
    token = jwt.encode(
        claims, state.signing_key, algorithm=state.algorithm, headers={"kid": state.kid}
    )
    await state.accounts.update_one({"_id": account["_id"]}, {"$max": {"last_login_at": now}})
    _attach_device(response, state.device_key, account["_id"], issued)
    return TokenResponse(access_token=token, expires_in=TOKEN_SECONDS)


@router.post("/register", response_model=Profile, status_code=201)
async def register(request: Request, body: RegisterBody, response: Response) -> Profile:
    state = request.app.state
    now = datetime.now(UTC)
    start = int(now.timestamp()) // 3600 * 3600
    client = request.client.host if request.client else "unknown"
    await state.failures.find_one_and_update(
        {"_id": f"registration:{start}:{client}"},
        {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": now}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    password_hash = await asyncio.get_running_loop().run_in_executor(
        state.hashing, state.hasher.hash, body.password
    )
    document = {
        "_id": str(uuid.uuid4()),
        "username": body.username,
        "username_key": body.username.casefold(),
        "email": body.email,
        "email_key": body.email.casefold(),
        "phone": body.phone,
        "password_hash": password_hash,
        "created_at": now,
    }
    await state.accounts.insert_one(document)
    _attach_device(response, state.device_key, document["_id"], int(now.timestamp()))
    return Profile.model_validate({**document, "id": document["_id"]})
