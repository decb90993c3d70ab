"""The use cases, written once for the three front doors (CLI, server, magics).

Each module holds one use case as functions over small typed requests and results; the parts
they work with (mirror catalog, store, host, keyring, configuration) are parameters, so a front
door only parses its input, calls one of these and presents the result (:mod:`..present`).
Nothing here imports a front door, and nothing here prints.
"""
