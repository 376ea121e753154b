"""Community concerns, their triage, and "you said, we did"."""
