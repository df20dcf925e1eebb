"""Answers written by the user's own language model (opt-in), checked against the cited passages."""
