"""Exact and symbolic checks of the proof steps and constructions of Cao & Xie 2026."""
