"""art-sae-taxonomy: ART clustering of SAE decoder directions, published as an offline site."""

__version__ = "0.1.0"
