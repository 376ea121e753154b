"""Partner agencies: a force's directory of agencies and their contacts, and the partners of a
case."""
