"""The first-login event consumer: its own process, `python -m promotion_service.consumer`."""
