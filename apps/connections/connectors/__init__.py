"""Connectors: plain Python that knows HTTP and each vendor's JSON, and nothing of Django.

`base` holds the contract every connector follows, `records` the neutral records the engine works with,
`http` the one HTTP client they all use (behind the SSRF guard in `ssrf`), and `errors` the failure types,
each tagged config / transient / permanent.
"""
