"""Figures: drawing only.

A figure module draws results and tables produced elsewhere: it may import :mod:`qbc_theory.model`
(errors, validation) and :mod:`qbc_theory.verification` ``.runner`` (result tables), ``.figdata``
(figure data) and ``.verdicts`` (verdict types), never a rollout, a bound or a certificate.

- :mod:`.style`: the paper style, panel labels, slope text, reproducible saving, the manifest;
- :mod:`.common`: axes, legends, measured series and bounds drawn the same way everywhere;
- :mod:`.scaling_plots` (figures 1-3), :mod:`.certificate_plots` (4, 5), :mod:`.construction_plots`
  (6, 7): one plot function per panel kind;
- :mod:`.plots`: all of the above under one name;
- :mod:`.paper`: ``qbc figs``, the orchestration (which specs, which data builder, which drawing);
- :mod:`.verify_plots`: the per-claim diagnostic figures of ``qbc verify``.
"""

__all__: list[str] = []  # a room: its modules are imported by name, nothing is re-exported here
