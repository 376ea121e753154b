"""What operators watch: JSON logs (``logs``), Prometheus metrics (``metrics``) and readiness
(``readiness``)."""
