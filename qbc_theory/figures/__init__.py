"""Figures: drawing only.

Owns the paper style and the plot functions (:mod:`.plots`), the paper figures (:mod:`.paper`,
``qbc figs``) and the per-claim diagnostic plots (:mod:`.verify_plots`). A figure module draws
results and tables produced elsewhere: it may import :mod:`qbc_theory.model` (errors, validation)
and :mod:`qbc_theory.verification` (result tables, figure data), never a rollout, a bound or a
certificate directly.
"""
