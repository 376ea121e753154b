"""Handing a person's open work (cases and actions) over to others in one step."""
