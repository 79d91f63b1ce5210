"""A bundle's format name and version, and ``emoconv predict --info``: its :meth:`~emoconv.bundle.Bundle.info`
as lines of text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "FORMAT_VERSION", "TRAINING_KEYS", "format_info", "read_evidence"]

FORMAT = "emoconv-bundle"
FORMAT_VERSION = 1
#: What ``info()["training"]`` takes from a bundle's ``extra``.
TRAINING_KEYS = ("recipe", "corpus", "variant", "fold", "seed", "n_utterances", "corpus_content", "protocol",
                 "final_model")


def read_evidence(folder: Path, rerun: str) -> dict[str, Any] | None:
    """A bundle folder's ``evidence.json`` (None when absent); one-line BundleError naming ``rerun`` when damaged."""
    from .errors import BundleError

    path = Path(folder) / "evidence.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        raise BundleError(f"{path}: damaged evidence (not JSON); {rerun}") from None


def format_info(info: dict[str, Any]) -> str:
    """:meth:`Bundle.info` as lines of text (``emoconv predict --info``)."""
    t = info["training"]
    lines = [f"bundle {info['bundle']}: model {info['model']}, made by emoconv {info['emoconv_version']} "
             f"(torch {info['torch_version']}), features {info['features']}",
             f"labels: {', '.join(info['labels'])}"]
    if t.get("corpus"):
        content = (t.get("corpus_content") or {}).get("hash")
        size = ", ".join(x for x in (f"{t['n_utterances']} utterances" if t.get("n_utterances") else "",
                                     f"content {content}" if content else "") if x)
        rest = [f"{k} {t[k]}" for k in ("recipe", "variant", "fold", "seed") if t.get(k) is not None]
        lines.append(f"trained on: corpus {t['corpus']}" + (f" ({size})" if size else "") + ", " + ", ".join(rest)
                     + ("" if t.get("recipe") else " (written before emoconv recorded more)"))
        proto = t.get("protocol") or {}
        fold = proto.get("fold") or {}
        final = t.get("final_model")
        if final and final.get("kind") == "fusion":  # emoconv train --fuse
            lines.append(f"final model: {' + '.join(m['name'] for m in info.get('members') or [])}, each trained on "
                         f"all {len(final.get('speakers') or [])} speakers, their probabilities weighted "
                         + ", ".join(f"{m['name']} {m['weight']:g}" for m in info.get("members") or [])
                         + f" (weight chosen on the cross-validation); protocol "
                         f"{json.dumps(proto.get('config'), sort_keys=True)}")
        elif final and final.get("kind") == "fold ensemble":  # emoconv train --final fold-ensemble
            lines.append(f"final model: the {final.get('members')} fold models of the cross-validation, their "
                         "probabilities averaged; figures measured on each fold model, protocol "
                         f"{json.dumps(proto.get('config'), sort_keys=True)}")
        elif final:  # emoconv train: every speaker trained it; its figures are the cross-validation's
            how = f"for {final['epochs']} epochs" if final.get("epochs") else "(fitted once)"
            lines.append(f"final model: trained on all {len(final.get('speakers') or [])} speakers {how} "
                         "after cross-validation with protocol "
                         f"{json.dumps(proto.get('config'), sort_keys=True)}")
        elif proto:
            lines.append(f"protocol: {json.dumps(proto.get('config'), sort_keys=True)}; this fold's test speakers: "
                         f"{', '.join(map(str, fold.get('test_speakers') or [])) or '?'}")
    else:
        lines.append("trained on: not recorded (a bundle written before emoconv 0.2 or by hand)")
    ft = info.get("fold_test")
    if ft and ft.get("ua") is not None:
        lines.append(f"this fold's test: UA {100 * ft['ua']:.2f} %, WA {100 * ft['wa']:.2f} %")
        lines += _confusion_lines(ft.get("confusion"), info["labels"])
    ev = info.get("cross_validated")
    if ev:
        planned = ev.get("folds_planned")
        lines.append(f"cross-validated ({ev['folds_finished']} of {planned if planned else '?'} folds): UA "
                     f"{100 * ev['ua_mean']:.2f} +- {100 * ev['ua_std']:.2f} %, WA {100 * ev['wa_mean']:.2f} +- "
                     f"{100 * ev['wa_std']:.2f} %; pooled UA {100 * ev['pooled']['ua']:.2f} %")
        lines.append("per fold UA: " + ", ".join(f"{f['fold']}: {100 * f['ua']:.1f}" for f in ev["per_fold"]))
        lines += _confusion_lines(ev["pooled"].get("confusion"), info["labels"], "pooled confusion")
    else:
        lines.append("cross-validated: no evidence.json (the sweep has not finished, or the bundle predates it)")
    return "\n".join(lines)


def _confusion_lines(cm: Any, labels: list[str], title: str = "confusion") -> list[str]:
    if not cm:
        return []
    width = max(6, *(len(x) for x in labels))
    out = [f"{title} (rows true, columns predicted):", " " * (width + 1) + " ".join(f"{x[:6]:>6}" for x in labels)]
    out += [f"{labels[i]:<{width}} " + " ".join(f"{int(v):>6}" for v in row) for i, row in enumerate(cm)]
    return out

