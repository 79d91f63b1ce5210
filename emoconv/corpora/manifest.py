"""Generic CSV manifest: any corpus described as ``path,speaker,label`` rows.

Header ``path,speaker,label`` plus optional ``gender,corpus,sentence,session``
columns; any other column is kept in :attr:`Utterance.attrs` as text. Paths are
relative to the CSV's folder (absolute paths are allowed). Labels are shared names
or common aliases (angry, happy, sad, fearful, ps, ...); unknown labels, missing
files and bad genders are problems naming the CSV line. The loader takes the CSV or a
folder holding ``manifest.csv``. Rows take their ``corpus`` column, else the
``corpus`` argument, else ``"manifest"``.

Example (``corpus/manifest.csv``)::

    path,speaker,label,gender
    wav/a_01.wav,a,angry,f
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from ..errors import CorpusError
from .base import (
    CORPORA, SHARED_LABELS, Scan, ScanBuilder, Utterance, normalize_gender, shared_label,
)

MANIFEST_NAME = "manifest.csv"
REQUIRED = ("path", "speaker", "label")
OPTIONAL = ("gender", "corpus", "sentence", "session")


def manifest_path(path: str | Path) -> Path:
    """The CSV itself, or ``manifest.csv`` inside a folder; CorpusError when neither exists."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / MANIFEST_NAME
        if not p.is_file():
            raise CorpusError(f"{p.parent}: no {MANIFEST_NAME} in this folder; pass the CSV path or its folder")
    elif not p.is_file():
        raise CorpusError(f"{p}: manifest not found; pass a CSV with columns path,speaker,label")
    return p


def _read_rows(csv_path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [(name or "").strip().lower() for name in reader.fieldnames or []]
            reader.fieldnames = header
            rows = [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k})
                    for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorpusError(f"{csv_path}: unreadable manifest ({exc}); save it as UTF-8 CSV") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CorpusError(f"{csv_path}: manifest lacks column(s) {', '.join(missing)}; "
                          f"the header must include {','.join(REQUIRED)}")
    return header, rows


def scan_manifest(path: str | Path, corpus: str | None = None, *, check_audio: bool = True) -> Scan:
    """Scan the manifest at ``path`` (CSV or folder with ``manifest.csv``).

    ``corpus`` names the scan and rows without a ``corpus`` column value. Utterance ids
    are ``corpus:<file stem>``; stems listed more than once use the relative path
    without suffix instead, so every row keeps a distinct id.
    """
    csv_path = manifest_path(path)
    base = csv_path.parent
    name = corpus or "manifest"
    out = ScanBuilder(name, csv_path, check_audio)
    header, rows = _read_rows(csv_path)
    extras = [c for c in header if c and c not in REQUIRED + OPTIONAL]
    resolved = [(line, row, base / row["path"] if row.get("path") else None) for line, row in rows]
    stems = Counter(p.stem for p in {p.resolve() for _, _, p in resolved if p is not None})
    seen: dict[Path, int] = {}
    for line, row, audio in resolved:
        where = f"line {line}"
        missing = [c for c in REQUIRED if not row.get(c)]
        if missing or audio is None:
            out.problem(csv_path, f"{where}: empty {', '.join(missing)}; fill it in or remove the row")
            continue
        label = shared_label(row["label"])
        if label is None:
            out.problem(csv_path, f"{where}: unknown label {row['label']!r}; use one of "
                                  f"{', '.join(SHARED_LABELS)} or a common alias (angry, happy, sad, ...)")
            continue
        try:
            gender = normalize_gender(row.get("gender"))
        except ValueError as exc:
            out.problem(csv_path, f"{where}: {exc}")
            continue
        first = seen.setdefault(audio.resolve(), line)
        if first != line:
            out.problem(csv_path, f"{where}: {row['path']} is already listed on line {first}; remove one")
            continue
        if not audio.is_file():
            out.problem(audio, f"listed on {where} of {csv_path.name} but missing; fix the path "
                               "(relative to the CSV's folder)")
            continue
        if not out.audio_ok(audio):
            continue
        key = None
        if stems[audio.stem] > 1:
            key = Path(row["path"]).with_suffix("").as_posix()
        out.add(Utterance(
            path=audio, speaker=row["speaker"], label=label, corpus=row.get("corpus") or name,
            native_label=row["label"], gender=gender, sentence=row.get("sentence") or None,
            session=row.get("session") or None, attrs={c: row[c] for c in extras if row.get(c)}, key=key,
        ))
    return out.done(f"rows in {csv_path.name}")


CORPORA.register("manifest")(scan_manifest)
