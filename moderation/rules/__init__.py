"""Matching lexicon terms and evaluating the rules that combine them."""

from moderation.rules.engine import Engine, Hit, default_engine

__all__ = ["Engine", "Hit", "default_engine"]
