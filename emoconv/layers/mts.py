"""Multi-time-scale (MTS) convolution: one shared kernel matched at several time scales.

From Guizzo, Weyde & Leveson, "Multi-Time-Scale Convolution for Emotion Recognition from Speech Audio
Signals", ICASSP 2020 (building on Kanazawa et al., "Locally scale-invariant convolutional neural
networks", 2014). Layout: input ``(B, C_in, T, F)`` (time before frequency) and ``kernel_size`` given as
``[time, frequency]`` as in the paper, e.g. ``(10, 5)``.

Every branch convolves the same input with the kernel resampled along time
(:func:`~emoconv.layers.mts_kernels.resample_kernel`); branch outputs are resampled to the unscaled
(``nn.Conv2d``) output shape and merged by a max over scales. Parameters: exactly ``nn.Conv2d``'s,
except in the opt-in ``mode="reference"`` (see :class:`MTSConv2d`).
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check
from ..errors import ConfigError
from .mts_fast import ConvSpec, MTSMerge, plan_groups, resize_bilinear
from .mts_kernels import PAPER_SCALE_SETS, kernel_unchanged, resample_kernel

__all__ = ["MTSConv2d", "PAPER_SCALE_SETS", "resample_kernel"]

_STRATEGIES = ("kernel", "input", "auto")
_MODES = ("shared", "reference")
_PENALTY_KINDS = ("scale", "loss")
_KERNEL_NORMS = ("none", "sum", "l2")
#: The amplitude rule of shared-mode layers when none is given (docs/mts.md: the RAVDESS design study).
DEFAULT_KERNEL_NORM = "sum"


class MTSConv2d(nn.Conv2d):
    """Multi-time-scale 2-D convolution (Guizzo et al., ICASSP 2020); a drop-in for ``nn.Conv2d``.

    Input ``(B, C_in, T, F)`` -> output ``(B, C_out, T', F')`` with ``T', F'`` what ``nn.Conv2d`` gives
    (``C_out + 1`` channels with ``concat_scale``). Constructor: ``nn.Conv2d``'s arguments plus

    * ``scales``: time-scale factors, must contain 1 (the unscaled branch defines the output shape);
      ``(1,)`` makes the layer numerically ``nn.Conv2d``.
    * ``scale_freq``: also scale the kernel along frequency by the same factor (off, as in the paper).
    * ``strategy``: ``"kernel"`` (paper: stretch the kernel), ``"input"`` (for ``s > 1`` compress the
      input along time by ``1/s``, convolve with the original kernel, resample the output back and
      scale it as ``kernel_norm`` says: ``1/s`` of the arithmetic), or ``"auto"`` (cheaper of the two per
      branch by a multiply-add count). ``"input"`` needs time stride 1, time dilation 1 and
      ``scale_freq=False``; ``"auto"`` also compresses time-strided layers' input (convolved with the same
      stride, resampled to the layer's output grid) and falls back to ``"kernel"`` otherwise.
    * ``mode``: ``"shared"`` (default; true weight sharing) or ``"reference"``: the published code's
      training, kept as an ablation and equal to the published layer step for step. Each rescaled
      branch owns a trainable kernel copy (``ref_weights``: extra parameters) that is overwritten,
      detached, from the shared kernel at every forward; its bias (``ref_biases``) is the shared bias's
      storage, so every branch's optimiser step moves the one bias. The shared kernel gets gradients only
      from the unscaled branch, and :meth:`average_reference_kernels` (the trainer calls it once per
      epoch, after validation and model selection, as the published code does) folds the copies,
      resampled back, into it by averaging. The rescaled kernels' gradients of all but the last step of
      an epoch are discarded.
    * ``penalty`` (>= 0) with ``penalty_kind``: ``"scale"`` lowers each rescaled branch's map ``m``
      (bias included) before the max to ``m - c * |m|`` with ``c = min(1, penalty * |ln s|)`` (a factor
      ``1 - c`` on positive values, ``1 + c`` on negative ones, so it always favours the unscaled
      branch, more so for distant scales); ``"loss"`` leaves the
      forward alone and, in training, stores ``penalty * mean(relu(max_rescaled - unscaled))``, the
      mean margin by which rescaled branches beat the unscaled one, read by :meth:`penalty_loss`.
    * ``kernel_norm``: amplitude of the stretched kernels: ``"sum"`` (default in shared mode: scaled by the
      tap-count ratio, so every scale answers a constant input alike and the max compares matches),
      ``"none"`` (the published code, and reference mode: ``s`` times the taps give about ``s`` times the
      response) or ``"l2"`` (each kernel keeps its L2 norm). docs/mts.md has the measurements.
    * ``train_standard_infer_mts``: plain convolution while ``self.training``, MTS at eval.
    * ``concat_scale``: append one channel holding, at every point, ``ln(s)`` of the winning scale
      averaged over the output channels (exactly the winner's ``ln(s)`` when ``out_channels == 1``;
      0 = unscaled); the output then has ``out_channels + 1`` channels (see ``output_channels``).

    Speed: in shared mode without penalty, the branches run through the fused
    :class:`~emoconv.layers.mts_fast.MTSMerge` (grouped convs, running max with a ``uint8`` winner
    index, hand-written backward); set ``layer.fused = False`` for the plain graph (same values).

    Branch usage: ``track_usage(True)`` resets and starts counting, at every forward, which scale wins
    each output point; ``usage()`` gives per-scale shares summing to 1 over everything seen since.
    Ties go to the unscaled branch when it is among the tied, else to the first tied scale in
    ``scales`` order (so an all-zero input counts fully for the unscaled branch).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None, *,
                 scales: Sequence[float] = (0.5, 1.0, 2.0), scale_freq: bool = False,
                 strategy: str = "kernel", mode: str = "shared", penalty: float = 0.0,
                 penalty_kind: str = "scale", train_standard_infer_mts: bool = False,
                 concat_scale: bool = False, kernel_norm: str | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)
        scales = tuple(float(s) for s in scales)
        check(len(scales) > 0 and all(s > 0 and math.isfinite(s) for s in scales),
              f"MTSConv2d.scales: {scales} must be positive numbers; e.g. (0.5, 1, 2)")
        check(len(set(scales)) == len(scales), f"MTSConv2d.scales: {scales} has repeated values; list each once")
        check(1.0 in scales, f"MTSConv2d.scales: {scales} lacks 1 (the unscaled branch); add it")
        check(strategy in _STRATEGIES, f"MTSConv2d.strategy: {strategy!r} is not one of {_STRATEGIES}")
        check(mode in _MODES, f"MTSConv2d.mode: {mode!r} is not one of {_MODES}")
        check(penalty_kind in _PENALTY_KINDS, f"MTSConv2d.penalty_kind: {penalty_kind!r} is not one of {_PENALTY_KINDS}")
        check(penalty >= 0 and math.isfinite(penalty), f"MTSConv2d.penalty: {penalty} must be >= 0")
        if kernel_norm is None:  # the default: amplitude-normalised in shared mode; the published rule in reference mode
            kernel_norm = DEFAULT_KERNEL_NORM if mode == "shared" else "none"
        check(kernel_norm in _KERNEL_NORMS, f"MTSConv2d.kernel_norm: {kernel_norm!r} is not one of {_KERNEL_NORMS}")
        check(kernel_norm == "none" or mode == "shared",
              "MTSConv2d.kernel_norm: amplitude normalisation needs mode='shared' (the published reference mode has none)")
        self.kernel_norm = kernel_norm
        time_ok = self.stride[0] == 1 and self.dilation[0] == 1
        check(strategy != "input" or time_ok,
              "MTSConv2d.strategy: 'input' needs time stride 1 and time dilation 1; use 'kernel' or 'auto'")
        check(strategy != "input" or not scale_freq,
              "MTSConv2d.strategy: 'input' compresses time only and cannot scale frequency; with "
              "scale_freq=True use 'kernel' (or 'auto', which then stretches kernels)")
        self.scales, self.scale_freq, self.strategy, self.mode = scales, bool(scale_freq), strategy, mode
        self.penalty, self.penalty_kind = float(penalty), penalty_kind
        self.train_standard_infer_mts, self.concat_scale = bool(train_standard_infer_mts), bool(concat_scale)
        self._unscaled = scales.index(1.0)
        # branch order used internally: unscaled first (tie rule), then the others in `scales` order
        self._order = [self._unscaled] + [i for i in range(len(scales)) if i != self._unscaled]
        self.register_buffer("_usage_counts", torch.zeros(len(scales), dtype=torch.float64), persistent=False)
        self._tracking = False
        self.fused = True  # False: the plain per-branch conv + stack + max graph (same values; slower)
        self._penalty_term: torch.Tensor | None = None
        copies = self.copy_scales
        if copies:
            warnings.warn(
                f"MTSConv2d{tuple(self.kernel_size)}: scale(s) {', '.join(f'{c:g}' for c in copies)} leave the kernel "
                f"length unchanged (floor(k*s) = k), so the resampled kernel is an exact copy and the branch never "
                f"wins; effective branches: {self.effective_branches} of {len(scales)}", UserWarning, stacklevel=2)
        self.ref_weights = nn.ParameterList()
        self.ref_biases = nn.ParameterList()
        if mode == "reference":
            with torch.no_grad():
                for s in self._rescaled():
                    w = resample_kernel(self.weight, *self._st_sf(s))
                    self.ref_weights.append(nn.Parameter(w.detach().clone()))
                    if self.bias is not None:
                        self.ref_biases.append(nn.Parameter(self.bias.detach().clone()))
            self._sync_reference()

    @property
    def output_channels(self) -> int:
        """Channels of the output: ``out_channels`` (+1 with ``concat_scale``)."""
        return self.out_channels + int(self.concat_scale)

    @property
    def copy_scales(self) -> tuple[float, ...]:
        """Rescaled branches whose stretched kernel is an exact copy of the original (``floor(k*s) == k``
        along every scaled axis: PyTorch then returns the input unchanged), so they duplicate the unscaled
        branch and never win the max. Branches that compress the input instead (``strategy="input"``,
        ``s > 1``) are not copies."""
        kt, kf = self.kernel_size
        input_path = self.strategy == "input" and self.mode == "shared" and not self.scale_freq
        return tuple(s for s in self._rescaled() if kernel_unchanged(kt, s) and not (input_path and s > 1)
                     and (not self.scale_freq or kernel_unchanged(kf, s)))

    @property
    def effective_branches(self) -> int:
        """Branches that can differ from the unscaled one: ``len(scales) - len(copy_scales)``."""
        return len(self.scales) - len(self.copy_scales)

    def _rescaled(self) -> list[float]:
        return [s for s in self.scales if s != 1.0]

    def _st_sf(self, s: float) -> tuple[float, float]:
        return s, (s if self.scale_freq else 1.0)

    def extra_repr(self) -> str:
        extra = f", scales={self.scales}, strategy={self.strategy!r}"
        if self.mode != "shared":
            extra += f", mode={self.mode!r}"
        if self.scale_freq:
            extra += ", scale_freq=True"
        if self.kernel_norm != (DEFAULT_KERNEL_NORM if self.mode == "shared" else "none"):
            extra += f", kernel_norm={self.kernel_norm!r}"
        if self.penalty:
            extra += f", penalty={self.penalty}, penalty_kind={self.penalty_kind!r}"
        if self.train_standard_infer_mts:
            extra += ", train_standard_infer_mts=True"
        if self.concat_scale:
            extra += ", concat_scale=True"
        return super().extra_repr() + extra

    def _stretch(self, s: float, weight: torch.Tensor | None = None) -> torch.Tensor:
        """The kernel resampled by ``s`` with the layer's amplitude rule (``kernel_norm``): ``"none"`` (paper),
        ``"sum"`` (times the tap-count ratio, so a locally constant input gives the same response at every
        scale, as when the input is resampled instead) or ``"l2"`` (each output kernel keeps its L2 norm)."""
        w0 = self.weight if weight is None else weight
        w = resample_kernel(w0, *self._st_sf(s))
        if self.kernel_norm == "sum":
            w = w * (w0.shape[2] * w0.shape[3] / (w.shape[2] * w.shape[3]))
        elif self.kernel_norm == "l2":
            w = w * (w0.flatten(1).norm(dim=1) / w.flatten(1).norm(dim=1).clamp_min(1e-12)).view(-1, 1, 1, 1)
        return w

    def _input_gain(self, s: float, weight: torch.Tensor) -> torch.Tensor | float:
        """Factor on an input-compressed branch so that it matches the stretched kernel's amplitude rule."""
        if self.kernel_norm == "sum":
            return 1.0
        if self.kernel_norm == "l2":
            w = resample_kernel(weight, s)
            return s * (weight.flatten(1).norm(dim=1) / w.flatten(1).norm(dim=1).clamp_min(1e-12)).view(1, -1, 1, 1)
        return s

    def _use_input(self, s: float, x: torch.Tensor) -> bool:
        """Whether branch ``s`` compresses the input (``strategy`` "input"/"auto") or stretches the kernel."""
        if (s <= 1.0 or self.strategy == "kernel" or self.mode == "reference" or self.scale_freq
                or isinstance(self.padding, str)):
            return False
        if self.dilation[0] != 1 or (self.stride[0] != 1 and self.strategy != "auto"):
            return False
        if self.strategy == "input":
            return True
        # auto: multiply-adds per (batch, out-channel, freq) column (a strided layer: per output step);
        # interpolation ~ 4 ops per element
        _, c, t, _ = x.shape
        (kt, kf), st = self.kernel_size, self.stride[0]
        k_s, per_tap, t_c = math.floor(kt * s + 1e-9), c // self.groups * kf, round((t + 2 * self.padding[0]) / s)
        kernel_cost = ((t - k_s) // st + 1) * k_s * per_tap
        input_cost = ((t_c - kt) // st + 1) * kt * per_tap + 4 * (c * t_c / max(self.out_channels, 1) + t / st)
        return input_cost < kernel_cost

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int] | str]:
        """Pad the input once for every branch (non-zero padding modes); return it and the conv padding."""
        if self.padding_mode != "zeros":
            return F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode), (0, 0)
        return x, self.padding

    def _branch(self, x: torch.Tensor, s: float, j: int, padding, out_hw: tuple[int, int],
                weight: torch.Tensor | None = None) -> torch.Tensor:
        """One rescaled branch (no bias unless reference mode), resampled to ``out_hw``."""
        weight = self.weight if weight is None else weight
        if self._use_input(s, x):
            pt = padding[0]
            xp = F.pad(x, (0, 0, pt, pt)) if pt else x
            t_c = max(self.kernel_size[0], round(xp.shape[-2] / s))
            xc = F.interpolate(xp, size=(t_c, xp.shape[-1]), mode="bilinear", align_corners=False, antialias=True)
            y = F.conv2d(xc, weight, None, self.stride, (0, padding[1]), self.dilation, self.groups)
            gain = self._input_gain(s, weight)
            y = y if isinstance(gain, float) and gain == 1.0 else y * gain  # y * 1.0 would only copy
        else:
            if self.mode == "reference":
                w, b = self.ref_weights[j], (self.ref_biases[j] if self.bias is not None else None)
            else:
                w, b = self._stretch(s, weight), None
            if not isinstance(padding, str):  # a stretched kernel longer than the padded input: pad more
                short = [self.dilation[d] * (w.shape[2 + d] - 1) + 1 - x.shape[2 + d] - 2 * padding[d] for d in (0, 1)]
                if max(short) > 0:
                    st, sf = max(0, short[0]), max(0, short[1])
                    x = F.pad(x, (sf // 2, sf - sf // 2, st // 2, st - st // 2))
            y = F.conv2d(x, w, b, self.stride, padding, self.dilation, self.groups)
        if tuple(y.shape[-2:]) != out_hw:
            y = resize_bilinear(y, out_hw)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T, F)`` -> ``(B, C_out[+1], T', F')``."""
        if x.dim() != 4:
            raise ConfigError(f"MTSConv2d: expected input (batch, channels, time, freq), got shape {tuple(x.shape)}")
        self._penalty_term = None
        if len(self.scales) == 1 or (self.train_standard_infer_mts and self.training):
            y = self._conv_forward(x, self.weight, self.bias)
            if self.concat_scale:
                y = torch.cat([y, y.new_zeros(y.shape[0], 1, *y.shape[2:])], 1)
            return y
        if self.mode == "reference":
            self._sync_reference()
        xp, padding = self._pad(x)
        if self.fused and self.mode == "shared" and not self.penalty and not isinstance(padding, str):
            fast = self._fused_forward(xp, padding)
            if fast is not None:
                return fast
        ref = self.mode == "reference"
        y1 = F.conv2d(xp, self.weight, self.bias if ref else None, self.stride, padding, self.dilation, self.groups)
        out_hw = tuple(y1.shape[-2:])
        maps = [y1] + [self._branch(xp, s, j, padding, out_hw) for j, s in enumerate(self._rescaled())]
        bias = None if (ref or self.bias is None) else self.bias.view(1, -1, 1, 1)
        if self.penalty and self.penalty_kind == "scale":
            if bias is not None:
                maps = [m + bias for m in maps]
                bias = None
            maps = [maps[0]] + [m - min(1.0, self.penalty * abs(math.log(s))) * m.abs()
                                for m, s in zip(maps[1:], self._rescaled())]
        need_index = self._tracking or self.concat_scale
        if not need_index and not (torch.is_grad_enabled() and any(m.requires_grad for m in maps)):
            out, idx = maps[0], None  # inference: in-place max chain (maps[0] is a fresh tensor)
            for m in maps[1:]:
                torch.maximum(out, m, out=out)
        else:
            out, idx = torch.stack(maps).max(0)  # first maximum wins: the unscaled branch on ties
        if self.penalty and self.penalty_kind == "loss" and self.training:
            best = maps[1]
            for m in maps[2:]:
                best = torch.maximum(best, m)
            self._penalty_term = self.penalty * F.relu(best - maps[0]).mean()
        if bias is not None:
            out = out + bias
        return self._finish_index(out, idx) if need_index else out

    def branch_maps(self, x: torch.Tensor, weight: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Every branch's map before the max and the bias, in ``scales`` order (plain graph; ``weight``
        overrides the shared kernel, e.g. a copy to differentiate against). Shared mode only."""
        check(self.mode == "shared", "MTSConv2d.branch_maps: shared mode only")
        w = self.weight if weight is None else weight
        xp, padding = self._pad(x)
        y1 = F.conv2d(xp, w, None, self.stride, padding, self.dilation, self.groups)
        rest = iter([self._branch(xp, s, 0, padding, tuple(y1.shape[-2:]), w) for s in self._rescaled()])
        return [y1 if s == 1.0 else next(rest) for s in self.scales]

    def _fused_forward(self, x: torch.Tensor, padding: tuple[int, int]) -> torch.Tensor | None:
        """Same values as the stack+max graph via :class:`~emoconv.layers.mts_fast.MTSMerge` (None: not
        applicable, e.g. a stretched kernel longer than the padded input)."""
        spec = ConvSpec(tuple(self.stride), tuple(padding), tuple(self.dilation), self.groups)
        size = [x.shape[2 + d] + 2 * padding[d] for d in (0, 1)]
        out_hw = tuple((size[d] - self.dilation[d] * (self.kernel_size[d] - 1) - 1) // self.stride[d] + 1
                       for d in (0, 1))
        kernels, extra, k_ranks, e_ranks = [self.weight], [], [0], []
        for rank, i in enumerate(self._order[1:], start=1):
            s = self.scales[i]
            if self._use_input(s, x):
                extra.append(self._branch(x, s, 0, padding, out_hw))
                e_ranks.append(rank)
                continue
            w = self._stretch(s)
            if any(self.dilation[d] * (w.shape[2 + d] - 1) + 1 > size[d] for d in (0, 1)):
                return None
            kernels.append(w)
            k_ranks.append(rank)
        need_index = self._tracking or self.concat_scale or (
            torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad
                                         or any(m.requires_grad for m in extra)))
        plan = plan_groups([k.shape[2] for k in kernels], [k.shape[3] for k in kernels], self.groups)
        out, rank_idx = MTSMerge.apply(x, self.bias, plan, spec, tuple(k_ranks + e_ranks), need_index,
                                       len(kernels), *kernels, *extra)
        return self._finish_index(out, rank_idx) if (self._tracking or self.concat_scale) else out

    def _finish_index(self, out: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Count usage and/or append the ``ln(s)`` channel from the winner index (positions in ``_order``)."""
        winner = torch.tensor(self._order, device=idx.device)[idx.long()]  # index into self.scales
        if self._tracking:
            self._usage_counts += torch.bincount(winner.flatten(), minlength=len(self.scales)).to(self._usage_counts)
        if self.concat_scale:
            logs = torch.tensor([math.log(s) for s in self.scales], device=out.device, dtype=out.dtype)
            out = torch.cat([out, logs[winner].mean(1, keepdim=True)], 1)
        return out

    # ------------------------------------------------------------------------- reference mode
    @torch.no_grad()
    def _sync_reference(self) -> None:
        """Overwrite the detached per-scale kernel copies from the shared kernel and make every branch's bias
        the *same storage* as the shared bias, as the published code does (``conv.bias.data = input_bias``):
        each branch's optimiser step then moves the one bias."""
        for j, s in enumerate(self._rescaled()):
            self.ref_weights[j].copy_(resample_kernel(self.weight, *self._st_sf(s)))
            if self.bias is not None:
                self.ref_biases[j].data = self.bias.data

    @torch.no_grad()
    def average_reference_kernels(self) -> None:
        """Reference mode: set the shared kernel (and bias) to the mean of it and the copies resampled back."""
        if self.mode != "reference":
            return
        kt, kf = self.weight.shape[-2:]
        w = self.weight.clone()
        for cw in self.ref_weights:
            w += F.interpolate(cw, size=(kt, kf), mode="bilinear", align_corners=False)
        self.weight.copy_(w / (1 + len(self.ref_weights)))
        if self.bias is not None:
            b = self.bias.clone()
            for cb in self.ref_biases:
                b += cb
            self.bias.copy_(b / (1 + len(self.ref_biases)))

    # ---------------------------------------------------------------------------- statistics
    def track_usage(self, enabled: bool = True) -> None:
        """Start (resetting the counts) or stop counting which scale wins each output point."""
        if enabled:
            self.reset_usage()
        self._tracking = bool(enabled)

    def reset_usage(self) -> None:
        self._usage_counts.zero_()

    def usage(self) -> dict[float, float]:
        """Per-scale share of output points won since ``track_usage(True)``; sums to 1 (zeros if none seen)."""
        counts = self._usage_counts.cpu()
        total = float(counts.sum())
        return {s: (float(c) / total if total else 0.0) for s, c in zip(self.scales, counts)}

    def penalty_loss(self) -> torch.Tensor:
        """The ``penalty_kind="loss"`` term of the last training forward (a zero scalar otherwise)."""
        if self._penalty_term is None:
            return self.weight.new_zeros(())
        return self._penalty_term
