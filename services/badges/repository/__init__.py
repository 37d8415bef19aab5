"""All SQL of the badges schema, one module per resource family."""
