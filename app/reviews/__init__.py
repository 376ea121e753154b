"""Supervisory reviews of cases and the force-wide review cadence."""
