"""The assumption checker: is a given instance stable and smooth, with which constants.

Owns the stability certificates (:mod:`.stability`: gain profiles, P-IISS constants, Lyapunov and
LMI certificates), the smoothness moduli and audits (:mod:`.smoothness`: RTVC/TVC) and the report
that says which theorem applies (:mod:`.report`, ``qbc check``). It may import
:mod:`qbc_theory.model` and :mod:`qbc_theory.theory` (to evaluate the bounds it reports), never
:mod:`qbc_theory.engine`: a certificate is computed, not simulated.
"""

__all__: list[str] = []  # a room: its modules are imported by name, nothing is re-exported here
