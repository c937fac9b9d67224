"""Deterministic generator of Olist-shaped data: the nine files, any scale.

``dataset`` is the entry point (``generate()`` and its command); the other modules are its
parts: reference data, CSV writing, geography, catalogue, and orders.
"""
