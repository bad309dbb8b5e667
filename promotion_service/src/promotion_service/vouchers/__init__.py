"""Vouchers: listing a caller's vouchers and redeeming one against a purchase."""
