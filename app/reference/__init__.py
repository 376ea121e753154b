"""Reference data every database starts with: London boroughs (GSS codes) and their wards."""
