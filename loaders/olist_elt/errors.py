"""Exceptions the loader reports as a table's (or the run's) error message.

Each message says where (file, line, column, table) and what was expected; the
loader shows it as it is, without a traceback.
"""

from __future__ import annotations


class LoadError(Exception):
    """A load could not be done; str(error) is the message for the user."""


class ConfigError(LoadError):
    """Profiles file, target or options are wrong: nothing was loaded."""


class SourceError(LoadError):
    """A source file is missing, unreadable or ambiguous."""


class MissingFileError(SourceError):
    """No file for a table: an error for a full load, "nothing that day" in a daily drop."""


class CsvError(LoadError):
    """A file is not the CSV the spec describes (header, encoding, quoting, rows)."""


class TargetError(LoadError):
    """The warehouse rejected the load, or loaded a different number of rows."""
