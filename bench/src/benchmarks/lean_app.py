"""The floor of the services' endpoints: the same work, nothing else, same Uvicorn setup.

``python -m benchmarks.lean_app PORT WORKERS`` with ``MONGODB_URI``,
``REFERENCE_JWKS_URL``, ``REFERENCE_SIGNING_KEY_FILE``, ``REFERENCE_LOGIN_DATABASE`` and
``REFERENCE_PROMOTION_DATABASE`` in the environment. Each token-protected route does what its
service route must do and no more: one PyJWT verification of the bearer token against the
login service's published key (issuer, audience and every required claim checked), the
same reads (and, for redeem, the same conditional update), a pydantic response. No
middleware, no logging, no metrics. ``GET /bare`` (no token, no database) is the context
below it. The password operations (``/login``, ``/register``) are in
``lean_passwords``.
"""

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

import httpx
import jwt
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from pymongo import AsyncMongoClient, ReturnDocument

from benchmarks.lean_models import (
    AUDIENCE,
    ISSUER,
    Profile,
    RedeemBody,
    Redemption,
    Voucher,
)
from benchmarks.lean_passwords import open_password_state
from benchmarks.lean_passwords import router as password_router

REQUIRED = ["iss", "aud", "exp", "iat", "sub", "jti"]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient() as client:
        keys = (await client.get(os.environ["REFERENCE_JWKS_URL"])).json()["keys"]
    jwk = jwt.PyJWK(keys[0])
    app.state.key, app.state.algorithm = jwk.key, jwk.algorithm_name
    open_password_state(app.state, jwk)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        os.environ["MONGODB_URI"], tz_aware=True
    )
    app.state.accounts = mongo[os.environ["REFERENCE_LOGIN_DATABASE"]]["accounts"]
    app.state.vouchers = mongo[os.environ["REFERENCE_PROMOTION_DATABASE"]]["vouchers"]
    app.state.failures = mongo[os.environ["REFERENCE_LOGIN_DATABASE"]]["login_failures"]
    yield
    app.state.hashing.shutdown(wait=False, cancel_futures=True)
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


def create_app() -> FastAPI:
    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(password_router)

    @app.get("/bare")
    async def bare() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/me", response_model=Profile)
    async def me(request: Request, account_id: Caller) -> Profile:
        doc = await request.app.state.accounts.find_one({"_id": account_id})
        if doc is None:
            raise HTTPException(401)
        return Profile.model_validate({**doc, "id": doc["_id"]})

    @app.get("/vouchers", response_model=list[Voucher])
    async def vouchers(request: Request, account_id: Caller) -> list[Voucher]:
        cursor = request.app.state.vouchers.find({"account_id": account_id})
        docs = await cursor.sort("granted_at", -1).limit(100).to_list()
        return [Voucher.model_validate({**doc, "id": doc["_id"]}) for doc in docs]

    @app.post("/vouchers/{voucher_id}/redeem", response_model=Redemption)
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
