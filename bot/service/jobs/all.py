"""Every job module, imported so that each registers its job functions (see bot.service.job)."""

from bot.service.jobs import installations, nudges, pulls, reports, resolve, scans

__all__ = ["installations", "nudges", "pulls", "reports", "resolve", "scans"]
