"""Open Badges 3.0: signed verifiable credentials, their status lists and baked images."""
