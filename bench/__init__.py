"""The load generator: `python -m bench <scenario>` (see `python -m bench --help`).

Requests are signed as a real BadgeKit client signs them (a fresh JWT over method, path and body
for each request), sent closed loop (N connections back to back) or open loop (a fixed rate,
latency counted from each request's scheduled send time), against a running gateway or a stack
that `--spawn` starts on a database and vhost of its own.
"""
