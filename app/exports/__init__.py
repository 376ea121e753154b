"""Case files: export a case (and an operation) for evaluators, verify and import them."""
