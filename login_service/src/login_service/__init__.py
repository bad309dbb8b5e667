"""Login service: accounts, passwords, sessions and first-login events."""

__version__ = "0.1.0"
