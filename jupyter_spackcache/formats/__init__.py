"""Spack's on-disk formats as values: parse and render side by side, no I/O.

Reading and writing a format in one place keeps the two directions from drifting apart (the
mirror readers, the push writers, the store and the host probe all use what lives here). Like
``packaging`` and h11, nothing in this package opens files, sockets or processes: callers hand
in bytes or text and get values back, or hand in values and get bytes back.
"""
