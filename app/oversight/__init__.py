"""Supervisors' oversight: dashboards, statistics and the borough work queue."""
