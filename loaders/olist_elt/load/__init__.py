"""Load the nine Olist files into a warehouse's raw schema (``loader.load``).

``sources`` finds and reads the files (folder or S3), ``csvcheck`` validates them while they
stream, ``targets/`` has one module per warehouse, ``audit`` records every load run. The
crash checkpoints of ``faults`` stay on this runtime path on purpose: the crash tests must
kill the real code at the real step, and an unset variable makes them no-ops.
"""
