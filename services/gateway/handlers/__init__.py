"""HTTP handlers, one module per resource family; each lists its routes in `ROUTES`."""
