"""Cron schedules of pipelines in the metadata store."""

from __future__ import annotations

from shipyard.store._base import StoreBase


class ScheduleStore(StoreBase):
    """Schedules, and the lease a scheduler takes to run one."""
