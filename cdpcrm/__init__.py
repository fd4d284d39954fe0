"""cdpcrm: a CRM with a built-in Customer Data Platform."""

from .celery import app as celery_app

__all__ = ("celery_app",)
