"""Foundations every layer may use: errors, spec parsing, atomic files and JSON, quadrature, environment."""
