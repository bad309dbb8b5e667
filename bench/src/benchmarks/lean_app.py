"""The lean app: the services' endpoints doing the same work and nothing else (no
middleware, logging or metrics), on the same Uvicorn setup.

``python -m benchmarks.lean_app PORT WORKERS`` with ``MONGODB_URI``, ``REFERENCE_JWKS_URL``,
``REFERENCE_SIGNING_KEY_FILE``, ``REFERENCE_WORKERS``, ``REFERENCE_LOGIN_DATABASE`` and
``REFERENCE_PROMOTION_DATABASE`` in the environment. ``/login`` and ``/register`` read a
presented device token and name its accounts in the new one, as the service does;
``/register`` does not normalise the email and phone (0.07 ms of the service's CPU).
"""

import asyncio
import hashlib
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pydantic import BaseModel
from pymongo import AsyncMongoClient, ReturnDocument

from benchmarks.floors import MEMORY_COST_KIB, PARALLELISM, TIME_COST

ISSUER = "urn:bank:login"
AUDIENCE = "urn:bank:api"
REQUIRED = ["iss", "aud", "exp", "iat", "sub", "jti"]
TOKEN_SECONDS = 900
DEVICE_SECONDS = 30 * 24 * 3600
DEVICE_ACCOUNTS = 5  # the login service's default LOGIN_DEVICE_TOKEN_MAX_ACCOUNTS
WINDOW_SECONDS = 900


class Profile(BaseModel):
    id: str
    username: str
    email: str
    phone: str
    full_name: str | None = None
    birthday: date | None = None
    created_at: datetime
    first_login_at: datetime | None = None
    first_login_order: int | None = None


class Voucher(BaseModel):
    id: str
    campaign_id: str
    discount_percent: int
    slot: int
    status: str
    granted_at: datetime
    expires_at: datetime


class LoginBody(BaseModel):
    identifier: str
    password: str


class RegisterBody(BaseModel):
    username: str
    email: str
    phone: str
    password: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class RedeemBody(BaseModel):
    amount: Decimal
    currency: str
    purchase_id: str


class Redemption(BaseModel):
    voucher_id: str
    purchase_id: str
    original_amount: str
    discount_amount: str
    final_amount: str
    currency: str
    redeemed_at: datetime


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state
    async with httpx.AsyncClient() as client:
        keys = (await client.get(os.environ["REFERENCE_JWKS_URL"])).json()["keys"]
    jwk = jwt.PyJWK(keys[0])
    state.key, state.algorithm, state.kid = jwk.key, jwk.algorithm_name, jwk.key_id
    pem = Path(os.environ["REFERENCE_SIGNING_KEY_FILE"]).read_bytes()
    state.signing_key = jwt.api_jws.get_algorithm_by_name(jwk.algorithm_name).prepare_key(pem)
    state.device_key = secrets.token_bytes(32)
    state.hasher = PasswordHash(
        (Argon2Hasher(memory_cost=MEMORY_COST_KIB, time_cost=TIME_COST, parallelism=PARALLELISM),)
    )
    # As the service: the CPUs this process may use, shared by its workers.
    threads = max(1, len(os.sched_getaffinity(0)) // int(os.environ.get("REFERENCE_WORKERS", "1")))
    state.hashing = ThreadPoolExecutor(threads, thread_name_prefix="argon2")
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        os.environ["MONGODB_URI"], tz_aware=True
    )
    login_db = mongo[os.environ["REFERENCE_LOGIN_DATABASE"]]
    state.accounts, state.failures = login_db["accounts"], login_db["login_failures"]
    state.vouchers = mongo[os.environ["REFERENCE_PROMOTION_DATABASE"]]["vouchers"]
    yield
    state.hashing.shutdown(wait=False, cancel_futures=True)
    await mongo.close()


def caller(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPException(401)
    try:
        claims = jwt.decode(
            token,
            request.app.state.key,
            algorithms=[request.app.state.algorithm],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": REQUIRED},
        )
    except jwt.PyJWTError as exc:
        raise HTTPException(401) from exc
    return str(claims["sub"])


Caller = Annotated[str, Depends(caller)]
password_router = APIRouter()


def _attach_device(request: Request, response: Response, account_id: str, issued: int) -> None:
    """A device token naming the account after those the presented one names (verified as
    the service verifies its own), as cookie and header."""
    key, device, accounts = request.app.state.device_key, uuid.uuid4().hex, []
    if presented := request.cookies.get("device"):
        try:
            old = jwt.decode(presented, key, algorithms=["HS256"], audience="device",
                             options={"require": ["aud", "jti", "iat", "exp"]})  # fmt: skip
            device, accounts = str(old["jti"]), [a for a in old["acc"] if a != account_id]
        except jwt.PyJWTError:
            pass
    claims = {"aud": "device", "jti": device, "iat": issued, "exp": issued + DEVICE_SECONDS}
    claims["acc"] = [*accounts, account_id][-DEVICE_ACCOUNTS:]
    token = jwt.encode(claims, key, algorithm="HS256")
    response.set_cookie("device", token, max_age=DEVICE_SECONDS, httponly=True)
    response.headers["x-device-token"] = token


@password_router.post("/login", response_model=TokenResponse)
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
    _attach_device(request, response, account["_id"], issued)
    return TokenResponse(access_token=token, expires_in=TOKEN_SECONDS)


@password_router.post("/register", response_model=Profile, status_code=201)
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
    _attach_device(request, response, document["_id"], int(now.timestamp()))
    return Profile.model_validate({**document, "id": document["_id"]})


async def bare() -> dict[str, str]:
    return {"status": "ok"}


async def me(request: Request, account_id: Caller) -> Profile:
    doc = await request.app.state.accounts.find_one({"_id": account_id})
    if doc is None:
        raise HTTPException(401)
    return Profile.model_validate({**doc, "id": doc["_id"]})


async def vouchers(request: Request, account_id: Caller) -> list[Voucher]:
    cursor = request.app.state.vouchers.find({"account_id": account_id})
    docs = await cursor.sort("granted_at", -1).limit(100).to_list()
    return [Voucher.model_validate({**doc, "id": doc["_id"]}) for doc in docs]


async def redeem(
    request: Request, voucher_id: str, body: RedeemBody, account_id: Caller
) -> Redemption:
    owned = {"_id": voucher_id, "account_id": account_id}
    collection = request.app.state.vouchers
    voucher = await collection.find_one(owned)
    if voucher is None:
        raise HTTPException(404)
    now = datetime.now(UTC)
    cent = Decimal("0.01")
    discount = (body.amount * voucher["discount_percent"] / 100).quantize(cent, ROUND_HALF_EVEN)
    redemption = Redemption(
        voucher_id=voucher_id,
        purchase_id=body.purchase_id,
        original_amount=str(body.amount.quantize(cent)),
        discount_amount=str(discount),
        final_amount=str((body.amount - discount).quantize(cent)),
        currency=body.currency,
        redeemed_at=now,
    )
    stored = redemption.model_dump(exclude={"voucher_id"})
    updated = await collection.find_one_and_update(
        {**owned, "status": "active", "expires_at": {"$gt": now}},
        {"$set": {"status": "redeemed", "redemption": stored}},
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise HTTPException(409)
    return redemption


def create_app() -> FastAPI:
    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(password_router)
    app.get("/bare")(bare)
    app.get("/healthz")(bare)
    app.get("/me", response_model=Profile)(me)
    app.get("/vouchers", response_model=list[Voucher])(vouchers)
    app.post("/vouchers/{voucher_id}/redeem", response_model=Redemption)(redeem)
    return app


def main() -> None:
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(
        "benchmarks.lean_app:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        access_log=False,
        log_level="info",  # start-up and worker failures reach the run's log; no access log
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
