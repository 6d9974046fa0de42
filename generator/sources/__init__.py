"""Where data comes from: SAE decoders and lens models (torch is imported lazily)."""

from generator.sources.lens import FinalNorm, LensIdentity, LensModel, check_widths, load_lens
from generator.sources.sae import SaeDecoder, SaeIdentity, load_sae

__all__ = [
    "FinalNorm",
    "LensIdentity",
    "LensModel",
    "SaeDecoder",
    "SaeIdentity",
    "check_widths",
    "load_lens",
    "load_sae",
]
