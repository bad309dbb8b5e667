"""First-login promotion service: campaigns, slots and vouchers."""

# Before the import below: main.py reads it while this package is still initialising.
__version__ = "0.1.0"

from promotion_service.main import create_app

__all__ = ["__version__", "create_app"]
