"""First-login promotion service: campaigns, slots and vouchers."""

from promotion_service.main import create_app

__all__ = ["create_app"]
