"""Request and response bodies of the voucher routes."""

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_DECIMAL_TEXT = re.compile(r"^-?[0-9]{1,30}(\.[0-9]{1,30})?$", re.ASCII)

VoucherStatus = Literal["active", "redeemed", "expired"]


def _exact_decimal(value: Any) -> Decimal:
    """Accept a JSON number (parsed exactly) or a plain decimal string; nothing lossy."""
    if isinstance(value, bool):
        raise ValueError("amount must be a decimal number or string, not a boolean")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str):
        if not _DECIMAL_TEXT.match(value):
            raise ValueError('amount must be a plain decimal such as "100.00"')
        return Decimal(value)
    if isinstance(value, float):
        raise ValueError("amount must be sent as a decimal string or an exact JSON number")
    raise ValueError("amount must be a decimal number or string")


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal)]


class RedeemRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"amount": "100.00", "currency": "EUR", "purchase_id": "order-2024-0001"}]
        },
    )

    amount: ExactDecimal = Field(description="Price before the discount, in major units.")
    currency: str = Field(
        pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR, JPY.", examples=["EUR"]
    )
    purchase_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="The purchase this voucher pays for; repeating it repeats the result.",
        examples=["order-2024-0001"],
    )


class RedemptionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "voucher_id": "3f0c8a9e-6d0c-4a53-9a57-3c1b5d0b7e21",
                    "purchase_id": "order-2024-0001",
                    "original_amount": "100.00",
                    "discount_amount": "30.00",
                    "final_amount": "70.00",
                    "currency": "EUR",
                    "redeemed_at": "2026-01-05T10:00:00Z",
                }
            ]
        }
    )

    voucher_id: str
    purchase_id: str
    original_amount: str = Field(description="Decimal string, currency's minor units.")
    discount_amount: str = Field(description="Rounded half-even to the minor unit.")
    final_amount: str = Field(description="original_amount - discount_amount.")
    currency: str
    redeemed_at: datetime


class VoucherOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f0c8a9e-6d0c-4a53-9a57-3c1b5d0b7e21",
                    "campaign_id": "first-login",
                    "discount_percent": 30,
                    "slot": 7,
                    "status": "active",
                    "granted_at": "2026-01-01T09:00:00Z",
                    "expires_at": "2026-01-31T09:00:00Z",
                }
            ]
        }
    )

    id: str
    campaign_id: str
    discount_percent: int
    slot: int
    status: VoucherStatus
    granted_at: datetime
    expires_at: datetime
