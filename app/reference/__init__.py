"""Reference data: police forces, their local policing areas (London's 33 boroughs are built
in) and wards."""
