"""Data-quality gates and verification checks generated from specs."""
