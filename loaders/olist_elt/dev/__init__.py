"""Helpers for local development and the tests only: nothing on the runtime path imports
them. ``postgres`` starts a throwaway PostgreSQL server on loopback."""
