"""Harm-weight tables: a force's weight for each police.uk crime category, to count harm beside
crimes."""
