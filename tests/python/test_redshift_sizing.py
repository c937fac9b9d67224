"""The measured figures of docs/redshift.md's scale-100 sizing are the real ones.

The section "A scale-100 history on Redshift Serverless, on paper" measures file and drop
sizes on a generated scale-1 set and extrapolates them. Generation and replay give the same
bytes for the same arguments, so this runs the section's own commands (the `$ olist ...`
lines of its blocks, with temporary folders for the paths) and compares every cell of the
two blocks with the sizes written, formatted as the doc prints them: the scale-100 columns
are the measured bytes times 100 (and / 64 per part), so they move with the measurements.
A few figures the prose derives from the blocks are checked the same way. A failure prints
the block as it should read.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import math
import re
import shlex
import statistics
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbt_cli import PROJECT_ROOT
from olist_elt.cli import main
from olist_elt.generate.dataset import UNSPLIT
from olist_elt.spec import OLIST_FILES, OlistFile

pytestmark = pytest.mark.slow  # generates a scale-1 set and replays it (1.5 million rows)

DOC = PROJECT_ROOT / "docs" / "redshift.md"
SECTION = "## A scale-100 history on Redshift Serverless, on paper"
SCALE_UP = 100  # scale 100 from scale 1
PARTS_AT_SCALE_100 = 64


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else len(text)]


def block(program: str) -> tuple[list[str], list[str]]:
    """The argv and the lines of the section's text block starting `$ olist <program>`."""
    found = [
        b
        for b in re.findall(r"```text\n(.*?)```", section(), flags=re.S)
        if b.startswith(f"$ olist {program} ")
    ]
    assert len(found) == 1, f"{DOC.name}: expected one block starting '$ olist {program}'"
    first, *rest = found[0].rstrip("\n").split("\n")
    return shlex.split(first[2:].split("#")[0]), rest


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def size(count: float) -> str:
    """A drop's size, as the doc prints it: whole kB, MB to one decimal, GB to two."""
    if count >= 1e9:
        return f"{count / 1e9:.2f} GB"
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.0f} kB"


def scale_one_mb(count: float) -> str:
    return f"{count / 1e6:.2f} MB"


def scale_100(count: float) -> str:
    return f"{count / 1e9:.2f} GB" if count >= 1e9 else f"{count / 1e6:.0f} MB"


def per_part(count: float) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e6:.2f} MB"


@dataclass(frozen=True)
class Measured:
    gz: dict[str, int]  # table -> bytes of its .csv.gz files
    csv: dict[str, int]  # table -> bytes of the CSV inside them
    gz_tenth: dict[str, int]  # the same command at --scale 0.1
    drops: list[Path]  # oldest first
    rows: int  # over all drops, from replay's summary line
    seed: str  # as generate prints it


def sizes(folder: Path) -> tuple[dict[str, int], dict[str, int]]:
    gz: dict[str, int] = {}
    inside: dict[str, int] = {}
    for path in folder.iterdir():
        spec = table_of(path)
        gz[spec.table] = gz.get(spec.table, 0) + path.stat().st_size
        inside[spec.table] = inside.get(spec.table, 0) + len(gzip.decompress(path.read_bytes()))
    return gz, inside


def table_of(path: Path) -> OlistFile:
    matches = [f for f in OLIST_FILES if f.name_pattern.match(path.name)]
    assert len(matches) == 1 and path.name.endswith(".gz"), f"unexpected file {path}"
    return matches[0]


def run(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0, argv
    return out.getvalue()


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    at = argv.index(option)
    return [*argv[: at + 1], value, *argv[at + 2 :]]


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Measured:
    work = tmp_path_factory.mktemp("redshift_sizing")
    generate_argv, _ = block("generate")
    replay_argv, _ = block("replay")
    assert generate_argv[:2] == ["olist", "generate"] and "--gzip" in generate_argv
    assert replay_argv[:2] == ["olist", "replay"] and "--gzip" in replay_argv
    doc_out = generate_argv[generate_argv.index("--out") + 1]
    assert replay_argv[2] == doc_out, "the replay block does not replay the generated set"

    generated = work / "parts-s1"
    printed = run(with_option(generate_argv[1:], "--out", str(generated)))
    seed = re.search(r"\(scale [\d.]+, seed (\d+)\)$", printed.strip())
    assert seed, printed
    tenth = work / "parts-s0.1"
    run(with_option(with_option(generate_argv[1:], "--out", str(tenth)), "--scale", "0.1"))
    drops = work / "drops"
    printed = run(["replay", str(generated), str(drops), *replay_argv[4:]])
    summary = re.search(r"^(\d+) drops \(.*?\), \d+ files, ([\d,]+) rows", printed, flags=re.M)
    assert summary, printed
    gz, inside = sizes(generated)
    return Measured(
        gz=gz,
        csv=inside,
        gz_tenth=sizes(tenth)[0],
        drops=sorted(drops.iterdir()),
        rows=int(summary.group(2).replace(",", "")),
        seed=seed.group(1),
    )


def compare(doc: dict[str, list[str]], real: dict[str, list[str]], what: str) -> None:
    wrong = [
        f"  {label}: doc {doc.get(label)}, real {cells}"
        for label, cells in real.items()
        if doc.get(label) != cells
    ]
    wrong += [f"  {label}: in the doc, not measured" for label in doc.keys() - real.keys()]
    should_read = "\n".join(f"{label:<24}" + "  ".join(c) for label, c in real.items())
    assert not wrong, (
        f"{DOC.name}, {what} block differs from what was measured:\n"
        + "\n".join(wrong)
        + f"\nmeasured:\n{should_read}"
    )


def file_rows(m: Measured) -> dict[str, list[str]]:
    rows = {
        table: [
            scale_one_mb(m.gz[table]),
            scale_one_mb(m.csv[table]),
            scale_100(m.gz[table] * SCALE_UP),
            per_part(m.gz[table] * SCALE_UP / PARTS_AT_SCALE_100),
        ]
        for table in sorted(m.gz, key=m.gz.__getitem__, reverse=True)
        if table not in UNSPLIT
    }
    gz, inside = sum(m.gz.values()), sum(m.csv.values())
    rows["total"] = [
        scale_one_mb(gz),
        scale_one_mb(inside),
        scale_100(gz * SCALE_UP),
        f"(CSV inside: {inside * SCALE_UP / 1e9:.1f} GB)",
    ]
    return rows


@pytest.fixture(scope="module")
def drop_rows(measured: Measured) -> dict[str, list[str]]:
    m = measured

    def gz(folder: Path) -> int:
        return sum(p.stat().st_size for p in folder.iterdir())

    def inside(folder: Path) -> int:
        return sum(len(gzip.decompress(p.read_bytes())) for p in folder.iterdir())

    first, *rest = m.drops
    first_rows = 0
    for path in first.iterdir():
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            first_rows += sum(1 for _ in csv.reader(handle)) - 1  # the header
    compressed = sorted(gz(d) for d in rest)
    largest = max(rest, key=gz)
    mean_rows = (m.rows - first_rows) / len(rest)

    def both(count: float) -> list[str]:
        return [size(count), size(count * SCALE_UP)]

    return {
        "drops": [str(len(m.drops))],
        "first drop, gz": both(gz(first)),
        "median, gz": both(statistics.median(compressed)),
        "median, CSV inside": both(statistics.median(inside(d) for d in rest)),
        "90th percentile, gz": both(compressed[math.ceil(0.9 * len(compressed)) - 1]),
        "largest, gz": both(compressed[-1]),
        "files in the largest": [str(len(list(largest.iterdir())))],
        # an estimate, to the thousand
        "rows, mean": [f"{mean_rows:,.0f}", f"{round(mean_rows * SCALE_UP, -3):,.0f}"],
    }


def test_the_file_table_is_what_generate_writes(measured: Measured) -> None:
    _, lines = block("generate")
    header, *body = lines
    assert cells(header)[0] == "table", header
    doc = {row[0]: row[1:] for row in map(cells, body)}
    compare(doc, file_rows(measured), "the file")


def test_the_drop_table_is_what_replay_writes(drop_rows: dict[str, list[str]]) -> None:
    _, lines = block("replay")
    header, *body = lines
    assert cells(header) == ["scale 1", "scale 100 (est.)"], header
    doc = {row[0]: row[1:] for row in map(cells, body) if len(row) > 1}
    compare(doc, drop_rows, "the drop")


def test_figures_in_the_prose_follow_the_measurements(
    measured: Measured, drop_rows: dict[str, list[str]]
) -> None:
    text = " ".join(section().split())
    assert f"(the command below, seed {measured.seed})" in text, "the seed measured is not named"
    # size follows scale: scale 1 against the same command at scale 0.1, compressed
    ratio = re.search(
        r"the scale-1 set is ([\d.]+) times the scale-0\.1 one compressed, table by table "
        r"between ([\d.]+) and ([\d.]+) times, except the tiny sellers file",
        text,
    )
    assert ratio, "the sentence comparing scale 1 with scale 0.1 is gone or reworded"
    per_table = [
        measured.gz[t] / measured.gz_tenth[t]
        for t in measured.gz
        if t not in UNSPLIT and t != "sellers"
    ]
    total = sum(measured.gz.values()) / sum(measured.gz_tenth.values())
    assert ratio.groups() == (f"{total:.1f}", f"{min(per_table):.1f}", f"{max(per_table):.1f}")

    # with --parts 64, every part within AWS's 1 MB to 1 GB but the sellers'
    advice = re.search(
        r"every part is between `1 MB` and `1 GB` compressed.*?except the sellers", text
    )
    assert advice, "the sentence on part sizes is gone or reworded"
    part = {t: measured.gz[t] * SCALE_UP / PARTS_AT_SCALE_100 for t in measured.gz}
    outside = sorted(t for t in part if t not in UNSPLIT and not 1e6 <= part[t] <= 1e9)
    assert outside == ["sellers"], f"parts of 64 outside 1 MB to 1 GB: {outside}"

    objects = re.search(r"`(\d+) x (\d+) \+ (\d+) = (\d+)`", text)
    assert objects, "the count of objects of a scale-100 load is gone"
    split = len(OLIST_FILES) - len(UNSPLIT)
    count = split * PARTS_AT_SCALE_100 + len(UNSPLIT)
    assert objects.groups() == tuple(map(str, (split, PARTS_AT_SCALE_100, len(UNSPLIT), count)))

    # storage: four uncompressed copies of the scale-100 CSV, and the drops' CSV a month
    storage = re.search(r"`4 x ([\d.]+) GB = (\d+) GB`", text)
    assert storage, "the storage bound is gone or reworded"
    csv_total = sum(measured.csv.values()) * SCALE_UP / 1e9
    assert storage.groups() == (f"{csv_total:.1f}", f"{4 * round(csv_total, 1):.0f}")
    daily = re.search(r"The drops add about `([\d.]+) MB` of CSV a day.*?about `([\d.]+) GB`", text)
    assert daily, "the drops' daily storage is gone or reworded"
    assert f"{daily.group(1)} MB" == drop_rows["median, CSV inside"][1]
    assert daily.group(2) == f"{30 * float(daily.group(1)) / 1e3:.1f}"  # a 30-day month
