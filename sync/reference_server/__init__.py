"""The reference main server: the contract a central system implements, as its own process.

    python -m sync.reference_server --port 5001 --db PATH

Its own SQLite store, the standard library's HTTP server, and nothing of the app but the
contract's canonical JSON (sync.rules). See sync/README.md for the contract.
"""
