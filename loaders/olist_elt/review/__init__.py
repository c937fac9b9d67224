"""Reviewing a change before it merges: what a model change does to the data (diff.py)."""
