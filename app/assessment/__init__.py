"""Impact assessment of a case (saved snapshots) and the evaluation of an operation."""
