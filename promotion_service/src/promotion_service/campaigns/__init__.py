"""Campaigns: the configured first-login promotion and its slot counter."""
