"""generator.errors: the device `auto` resolves to, and when torch is asked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from generator import errors


def test_auto_is_cpu_without_importing_torch_where_no_gpu_device_file_exists():
    """A fresh process (a Dask worker) learns there is no GPU without the second torch's
    import costs; with a GPU's device files torch is asked."""
    code = (
        "import sys; from generator.errors import resolve_device, no_gpu_nodes; "
        "print(resolve_device('auto'), 'torch' in sys.modules, no_gpu_nodes())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    device, imported, no_nodes = out.stdout.split()
    if no_nodes == "True":
        assert (device, imported) == ("cpu", "False")
    else:  # a GPU machine: torch decides
        assert imported == "True"


@pytest.mark.parametrize("cuda", [True, False])
def test_with_a_gpu_device_file_torch_decides(monkeypatch, cuda):
    import torch

    monkeypatch.setattr(errors.os.path, "exists", lambda p: p == "/dev/nvidiactl")
    monkeypatch.setattr(errors.sys, "platform", "linux")
    assert not errors.no_gpu_nodes()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert errors.resolve_device("auto") == ("cuda" if cuda else "cpu")


def test_no_device_files_means_no_gpu_only_on_linux(monkeypatch):
    monkeypatch.setattr(errors.os.path, "exists", lambda p: False)
    monkeypatch.setattr(errors.sys, "platform", "linux")
    assert errors.no_gpu_nodes()
    monkeypatch.setattr(errors.sys, "platform", "win32")
    assert not errors.no_gpu_nodes()
