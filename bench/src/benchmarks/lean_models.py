"""What the lean app reads and answers: the services' payloads, nothing more."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel

ISSUER = "urn:bank:login"
AUDIENCE = "urn:bank:api"


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
