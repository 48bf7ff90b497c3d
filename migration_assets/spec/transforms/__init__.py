"""More transforms of the expression vocabulary, one module per topic (names, HTML, choices...).

Each module registers its transforms with `expressions.transform(...)`; `expressions.py` imports
every module of this package once its own core vocabulary is defined, so a new topic is a new
file here and nothing else changes.
"""
