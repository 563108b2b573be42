"""Inspection of a Julie installation tree, and a generator of synthetic trees. No Django here."""

from .inspect import PROBLEM_CODES, inspect_tree
from .reader import Entry, LocalTree, TreeReader

__all__ = ["PROBLEM_CODES", "Entry", "LocalTree", "TreeReader", "inspect_tree"]
