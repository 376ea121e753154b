"""Users, roles, sign-in sessions, API tokens and the permission matrix."""
