"""Defaults as data: policy defaults and, later, the GitHub App manifest."""
