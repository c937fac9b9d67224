"""Check the Terraform files of a folder: `terraform fmt -check` when it can, a parse always.

    python tools/tf_fmt_check.py infra/terraform

1. Every *.tf file must parse as HCL2 (python-hcl2, from PyPI): a syntax error names the
   file and the parser's message.
2. `terraform fmt -check -recursive -diff` runs when a `terraform` (or OpenTofu `tofu`)
   executable is on PATH or in $TERRAFORM. Without one the canonical format cannot be
   checked exactly (alignment of `=` is terraform's own rule); the script then checks what
   it can without it (no tabs, no trailing spaces, two-space indents, a final newline) and
   says that fmt was not run.

Neither `terraform validate` nor `plan` runs here: both need the providers downloaded from
the Terraform registry.

Exit status: 0 clean, 1 a file is malformed or not formatted, 2 bad usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("tf_fmt_check")


def find_terraform() -> str | None:
    configured = os.environ.get("TERRAFORM")
    if configured:
        return configured
    return shutil.which("terraform") or shutil.which("tofu")


def parse_errors(files: list[Path]) -> list[str]:
    import hcl2

    errors = []
    for path in files:
        try:
            with path.open() as handle:
                hcl2.load(handle)
        except Exception as exc:  # the parser raises several exception types
            errors.append(f"{path}: does not parse as HCL2: {str(exc).splitlines()[0]}")
    return errors


def layout_errors(files: list[Path]) -> list[str]:
    """What can be checked of terraform fmt's style without terraform."""
    errors = []
    for path in files:
        text = path.read_text()
        if text and not text.endswith("\n"):
            errors.append(f"{path}: no newline at the end of the file")
        for number, line in enumerate(text.splitlines(), start=1):
            indent = len(line) - len(line.lstrip(" "))
            if "\t" in line[: indent + 1]:
                errors.append(f"{path}:{number}: tab in the indentation (fmt uses two spaces)")
            elif indent % 2:
                errors.append(f"{path}:{number}: indent of {indent} spaces (two per level)")
            if line != line.rstrip():
                errors.append(f"{path}:{number}: trailing whitespace")
    return errors


def run_fmt(terraform: str, folder: Path) -> tuple[bool, str]:
    # No CLI config file is needed for fmt; point it at an empty one to keep output quiet.
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1"}
    process = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", "-no-color", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return process.returncode == 0, (process.stdout + process.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--require-terraform", action="store_true", help="fail when no terraform binary is found"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    files = sorted(args.folder.rglob("*.tf"))
    if not files:
        print(f"tf_fmt_check: no .tf file under {args.folder}", file=sys.stderr)
        return 2
    problems = parse_errors(files)
    terraform = find_terraform()
    if terraform:
        ok, output = run_fmt(terraform, args.folder)
        if not ok:
            problems.append(f"terraform fmt -check failed:\n{output}")
        checked = f"terraform fmt -check ({terraform})"
    elif args.require_terraform:
        problems.append("no terraform or tofu executable on PATH (or $TERRAFORM)")
        checked = "nothing"
    else:
        problems += layout_errors(files)
        checked = "layout rules only: terraform fmt NOT run (no terraform or tofu on PATH)"
    for problem in problems:
        print(problem, file=sys.stderr)
    status = "FAILED" if problems else "ok"
    print(f"{len(files)} .tf files parsed; {checked}: {status}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
