"""The use cases, written once for the three front doors (CLI, server, magics).

Each module holds one use case as functions over small typed requests and results; the parts
they work with (mirror catalog, store, host, keyring, configuration, upstream stores) are
keyword-only parameters named alike everywhere (``catalog=``, ``store=``, ``host=``,
``keyring=``, ``config=``, ``upstreams=``), each function taking only those it uses, so a front
door only parses its input, calls one of these with its session's parts and presents the result
(:mod:`..present`); a test hands in the real parts it built.
Nothing here imports a front door, and nothing here prints.
"""
