"""Local development stack: supervisor (`python -m devstack`) and API doc generator."""
