"""Numeric precision of the network's forward pass: ``"fp32"``, ``"bf16"`` (autocast) or ``"auto"``.

``"auto"`` picks bf16 autocast where the hardware runs it natively (CPUs with AVX-512 BF16 or AMX,
CUDA GPUs with bf16 support) and fp32 elsewhere. Losses and the sampler's arithmetic stay in fp32;
only the network runs under autocast.
"""
from __future__ import annotations

import contextlib
import platform

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def cpu_has_native_bf16() -> bool:
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(cpu, probe, None)
        if fn is not None:
            try:
                if fn():
                    return True
            except Exception:  # pragma: no cover - probe unavailable on this build
                pass
    return False


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """Turn ``"auto"`` into ``"bf16"`` or ``"fp32"`` for ``device``; validate the name."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"


def autocast(precision: str, device: torch.device | str = "cpu"):
    """Context manager running the network in ``precision`` on ``device``."""
    precision = resolve_precision(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def describe_device(device: torch.device | str = "cpu") -> str:
    """A readable name of ``device`` for records: ``"cuda: NVIDIA H100 80GB HBM3"``, ``"cpu: AMD EPYC ..."``."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    if device.type == "cpu":
        try:
            with open("/proc/cpuinfo") as f:
                names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        except OSError:
            names = []
        return f"cpu: {names[0] if names else (platform.processor() or platform.machine())}"
    return str(device)
