"""The instance model: what a user describes (the bottom room of the data flow).

Owns the systems (:mod:`.dynamics`), experts (:mod:`.experts`), quantizers and tokenizers
(:mod:`.quantizers`), rewards (:mod:`.rewards`), the :class:`~.instance.Instance` that bundles them and
its TOML loader (:mod:`.instance`), the error classes (:mod:`.errors`) and the input validation
helpers (:mod:`.validation`). It imports nothing else of ``qbc_theory``: every other room builds on it.
"""

__all__: list[str] = []  # a room: its modules are imported by name, nothing is re-exported here
