"""What a corpus folder holds: counts per speaker x label, per label and gender, problems.

``inspect_corpus("savee", "/data/savee/ALL")`` scans the folder with the registered
loader and summarises it; ``report.render()`` is the text that
``emoconv datasets inspect CORPUS PATH`` prints and ``report.to_dict()`` its
``--json`` form. With ``check_audio`` every file's header is read, which finds unreadable
or empty files and gives the total duration; with ``check_content`` (default) every file
is decoded too, which finds silent, NaN and too-short files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import SHARED_LABELS, Problem, scan_corpus

_NO_GENDER = "unknown"


@dataclass
class InspectReport:
    """Summary of one scan. Counts are plain dicts in a stable order (labels in
    :data:`SHARED_LABELS` order, speakers sorted); ``total_duration_s`` is None when
    headers were not read."""

    corpus: str
    root: str
    options: dict[str, Any]
    n_utterances: int
    per_speaker: dict[str, dict[str, int]]
    per_label: dict[str, int]
    per_gender: dict[str, int]
    per_session: dict[str, int]
    total_duration_s: float | None
    excluded: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def speakers(self) -> list[str]:
        return list(self.per_speaker)

    @property
    def labels(self) -> list[str]:
        return list(self.per_label)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (problems as ``{"path", "message"}`` objects)."""
        return {
            "corpus": self.corpus,
            "root": self.root,
            "options": dict(self.options),
            "n_utterances": self.n_utterances,
            "n_speakers": len(self.per_speaker),
            "per_speaker": {s: dict(c) for s, c in self.per_speaker.items()},
            "per_label": dict(self.per_label),
            "per_gender": dict(self.per_gender),
            "per_session": dict(self.per_session),
            "total_duration_s": self.total_duration_s,
            "excluded": dict(self.excluded),
            "n_problems": len(self.problems),
            "problems": [{"path": str(p.path), "message": p.message} for p in self.problems],
        }

    def render(self) -> str:
        """A readable text report: summary line, speaker x label table, genders, problems."""
        lines = [self._headline(), ""]
        if self.n_utterances:
            lines += _table(self.per_speaker, self.labels) + [""]
            lines.append("genders:  " + ", ".join(f"{g} {n}" for g, n in self.per_gender.items()))
            if self.per_session:
                lines.append("sessions: " + ", ".join(f"{s} {n}" for s, n in self.per_session.items()))
        for reason, n in self.excluded.items():
            lines.append(f"excluded: {n} x {reason}")
        lines.append(f"problems: {len(self.problems)}")
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)

    def _headline(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items())
        head = f"{self.corpus} at {self.root}" + (f" ({opts})" if opts else "")
        parts = [f"{self.n_utterances} utterances", f"{len(self.per_speaker)} speakers",
                 f"{len(self.per_label)} labels"]
        if self.total_duration_s is not None:
            parts.append(f"{_hours(self.total_duration_s)} of audio")
        return f"{head}: " + ", ".join(parts)


def inspect_corpus(name: str, root: str | Path, check_audio: bool = True, check_content: bool = True,
                   min_duration_s: float = 0.05, **options: Any) -> InspectReport:
    """Scan corpus ``name`` at ``root`` (loader ``options`` as for ``load_corpus``) and summarise it.

    With ``check_content`` (and ``check_audio``) every file is also decoded once, at its own rate, so that
    silent (all-zero), NaN/inf and too-short (< ``min_duration_s``) files are listed as problems, all in one
    pass, and left out of the counts. Raises CorpusError for a missing folder and ConfigError for unknown
    options; every other problem is listed in the report.
    """
    from ..audio.io import content_problem

    scan = scan_corpus(name, root, check_audio=check_audio, **options)
    utts = scan.utterances
    if check_audio and check_content:
        kept = []
        for u in utts:
            why = content_problem(u.path, min_duration_s)
            if why is None:
                kept.append(u)
            else:
                scan.problems.append(Problem(Path(u.path), why))
        utts = kept
    label_order = {lab: i for i, lab in enumerate(SHARED_LABELS)}
    labels = sorted({u.label for u in utts}, key=lambda lab: (label_order.get(lab, len(label_order)), lab))
    per_speaker: dict[str, dict[str, int]] = {}
    for spk in sorted({u.speaker for u in utts}):
        per_speaker[spk] = {lab: 0 for lab in labels}
    per_gender: dict[str, int] = {}
    per_session: dict[str, int] = {}
    for u in utts:
        per_speaker[u.speaker][u.label] += 1
        g = u.gender or _NO_GENDER
        per_gender[g] = per_gender.get(g, 0) + 1
        if u.session:
            per_session[u.session] = per_session.get(u.session, 0) + 1
    per_label = {lab: sum(1 for u in utts if u.label == lab) for lab in labels}
    duration = None
    if check_audio and all(Path(u.path) in scan.durations for u in utts):
        duration = round(sum(scan.durations[Path(u.path)] for u in utts), 3)
    return InspectReport(
        corpus=name, root=str(scan.root), options=dict(options), n_utterances=len(utts),
        per_speaker=per_speaker, per_label=per_label, per_gender=dict(sorted(per_gender.items())),
        per_session=dict(sorted(per_session.items())), total_duration_s=duration,
        excluded=dict(scan.excluded), problems=list(scan.problems),
    )


def _table(rows: dict[str, dict[str, int]], labels: list[str]) -> list[str]:
    header = ["speaker", *labels, "total"]
    body = [[spk, *(str(c[lab]) for lab in labels), str(sum(c.values()))] for spk, c in rows.items()]
    totals = [sum(c[lab] for c in rows.values()) for lab in labels]
    body.append(["total", *(str(t) for t in totals), str(sum(totals))])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        return "  ".join(cells)

    rule = "-" * len(fmt(header))
    return [fmt(header), rule, *(fmt(r) for r in body[:-1]), rule, fmt(body[-1])]


def _hours(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"
