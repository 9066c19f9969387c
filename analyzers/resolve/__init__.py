"""Conflict resolution where a machine can: the engine, and its proof against history."""

from analyzers.resolve.engine import RULES, SHIPPED, resolve
from analyzers.resolve.records import Grade, NeedsPerson, Outcome, Resolved

__all__ = ["RULES", "SHIPPED", "Grade", "NeedsPerson", "Outcome", "Resolved", "resolve"]
