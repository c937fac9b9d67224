"""Deterministic generator of Olist-shaped data: the nine files, any scale.

`olist_elt.generate` is the entry point (CLI and `generate()`); this package holds the
parts: reference data, CSV writing, geography, catalogue, and orders.
"""
