"""The pipeline's stages, one module each (see docs/architecture.md for the graph).

Each stage module is a `generator.cache.Stage`: a `NAME`, a `VERSION` (bump it when the
stage's code changes what it computes), typed input and output dataclasses, `key(inp)`
(its parameters and its inputs' content hashes), a pure `compute(inp)`, and `save`/`load`
of its cache entry. A stage reads only its input dataclass: never another stage's cache
folder. `generator.pipeline` runs them in dependency order through the cache.
"""
