"""Speaker-independent evaluation: splits, metrics and statistics.

>>> from emoconv.protocol import ProtocolConfig, make_folds, classification_metrics
"""

from .fold import PROTOCOL_KINDS, unit_of
from .metrics import classification_metrics, encode_labels, pooled_metrics, summarize_folds, unweighted_accuracy
from .splits import Fold, ProtocolConfig, check_fold, make_folds
from .stats import bootstrap_ua_ci, improvement_summary, paired_wilcoxon

__all__ = [
    "PROTOCOL_KINDS", "ProtocolConfig", "Fold", "make_folds", "check_fold", "unit_of",
    "classification_metrics", "encode_labels", "summarize_folds", "pooled_metrics", "unweighted_accuracy",
    "bootstrap_ua_ci", "paired_wilcoxon", "improvement_summary",
]
