"""Check that YAML files parse (the pre-commit `check-yaml` hook, without fetching a hook repo).

Usage: python tools/check_yaml.py FILE... ; exits 1 and names each file that does not parse,
with the line and column PyYAML reports. Multi-document files are accepted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def yaml_errors(paths: list[str]) -> list[str]:
    errors = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
            for _ in yaml.safe_load_all(text):
                pass
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            errors.append(f"{path}: {error}")
    return errors


def main(argv: list[str] | None = None) -> int:
    errors = yaml_errors(sys.argv[1:] if argv is None else argv)
    for error in errors:
        sys.stderr.write(error + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
