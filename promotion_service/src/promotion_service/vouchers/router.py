"""HTTP routes of vouchers: thin, parse -> service -> shape."""

from typing import Annotated

from fastapi import APIRouter, Path

from promotion_service.clock import utc_now_ms
from promotion_service.decimal_json import DecimalJSONRoute
from promotion_service.dependencies import CurrentAccount, ServicesDep
from promotion_service.problem_schema import problem_responses
from promotion_service.vouchers.schemas import RedeemRequest, RedemptionOut, VoucherOut

router = APIRouter(prefix="/v1/vouchers", tags=["vouchers"], route_class=DecimalJSONRoute)

VoucherId = Annotated[str, Path(min_length=1, max_length=64, description="Voucher id")]


@router.get(
    "",
    operation_id="listMyVouchers",
    response_model=list[VoucherOut],
    summary="The caller's vouchers",
    responses=problem_responses(401, 503),
)
async def list_my_vouchers(services: ServicesDep, caller: CurrentAccount) -> list[VoucherOut]:
    vouchers = await services.vouchers.list_vouchers(account_id=caller.account_id, now=utc_now_ms())
    return [VoucherOut.model_validate({**voucher, "id": voucher["_id"]}) for voucher in vouchers]


@router.post(
    "/{voucher_id}/redeem",
    operation_id="redeemVoucher",
    response_model=RedemptionOut,
    summary="Redeem a voucher against a purchase (single use; idempotent per purchase_id)",
    responses=problem_responses(401, 404, 409, 410, 413, 422, 503),
)
async def redeem(
    services: ServicesDep, voucher_id: VoucherId, body: RedeemRequest, caller: CurrentAccount
) -> RedemptionOut:
    redemption = await services.vouchers.redeem(
        voucher_id=voucher_id,
        account_id=caller.account_id,
        amount=body.amount,
        currency=body.currency,
        purchase_id=body.purchase_id,
        now=utc_now_ms(),
    )
    return RedemptionOut.model_validate(redemption, from_attributes=True)
