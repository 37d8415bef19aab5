"""Response shapes (BadgeKit's `toResponse`, its omissions fixed) and pure rules; no I/O."""
