"""The pages people see at the public documents' URLs (DESIGN.md, Public pages)."""
