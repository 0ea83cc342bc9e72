"""Figures (matplotlib, imported lazily: only these modules import it). Functions return the figure."""
