"""generator.errors: the device `auto` resolves to, and when torch is asked."""

from __future__ import annotations

import pytest

from generator import errors
from tests.conftest import fresh_python


def test_auto_is_cpu_without_importing_torch_where_no_gpu_is_there():
    """A fresh process (a Dask worker) learns there is no GPU without the second torch's
    import costs; where one may be, torch is asked."""
    code = (
        "import sys; from generator.errors import resolve_device, no_gpu_here; "
        "print(resolve_device('auto'), 'torch' in sys.modules, no_gpu_here())"
    )
    stdout = fresh_python(code)
    device, imported, none_here = stdout.split()
    if none_here == "True":
        assert (device, imported) == ("cpu", "False")
    else:  # a GPU machine: torch decides
        assert imported == "True"


@pytest.mark.parametrize("cuda", [True, False])
def test_with_a_gpu_device_file_torch_decides(monkeypatch, cuda):
    import torch

    monkeypatch.setattr(errors.os.path, "exists", lambda p: p == "/dev/nvidiactl")
    monkeypatch.setattr(errors.sys, "platform", "linux")
    assert not errors.no_gpu_here()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert errors.resolve_device("auto") == ("cuda" if cuda else "cpu")


def _pci(root, devices):
    for name, (vendor, cls) in devices.items():
        d = root / name
        d.mkdir(parents=True)
        (d / "vendor").write_text(vendor + "\n")
        (d / "class").write_text(cls + "\n")
    return str(root)


def test_a_gpu_on_the_pci_bus_counts_before_its_device_files_exist(tmp_path, monkeypatch):
    """The NVIDIA driver may create /dev/nvidia* only when CUDA first starts: a display
    controller of NVIDIA or AMD on the bus means torch must be asked."""
    bus = {"0000:00:00.0": ("0x8086", "0x060000"), "0000:00:04.0": ("0x1af4", "0x020000")}
    assert not errors._gpu_on_pci(_pci(tmp_path / "cpu", bus))
    nvidia = {**bus, "0000:3b:00.0": ("0x10de", "0x030200")}  # a 3D controller
    assert errors._gpu_on_pci(_pci(tmp_path / "nvidia", nvidia))
    audio = {**bus, "0000:3b:00.1": ("0x10de", "0x040300")}  # NVIDIA's HDMI audio only
    assert not errors._gpu_on_pci(_pci(tmp_path / "audio", audio))
    assert not errors._gpu_on_pci(str(tmp_path / "no-sysfs"))
    monkeypatch.setattr(errors.os.path, "exists", lambda p: False)
    monkeypatch.setattr(errors.sys, "platform", "linux")
    monkeypatch.setattr(errors, "_gpu_on_pci", lambda: True)
    assert not errors.no_gpu_here()
    monkeypatch.setattr(errors, "_gpu_on_pci", lambda: False)
    assert errors.no_gpu_here()
    monkeypatch.setattr(errors.sys, "platform", "win32")
    assert not errors.no_gpu_here()


def test_the_bus_is_read_once_per_process():
    """The device is resolved for every sequence a fit presents (thousands of nested
    groups per run): the PCI bus is read at most once, not each time."""
    code = (
        "from generator import errors; n = [0]; read = errors._gpu_on_pci\n"
        "def counted(*a):\n    n[0] += 1\n    return read(*a)\n"
        "errors._gpu_on_pci = counted\n"
        "print({errors.resolve_device('auto') for _ in range(1000)}, n[0])"
    )
    stdout = fresh_python(code)
    assert stdout.split()[-1] in ("0", "1")  # 0: device files or not Linux, torch asked
