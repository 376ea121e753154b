"""Problem templates: versioned starting content for cases (models, schemas, service)."""
