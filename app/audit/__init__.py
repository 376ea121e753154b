"""The access log: who did what to which record, when and why, in an append-only hash chain."""
