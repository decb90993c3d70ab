"""Install tasks: queued per install root, run in a child process, kept in a history.

``model`` holds the task values and their transitions, ``db`` the history on disk,
``manager`` the queue and its threads, ``child`` the server's side of an install child
process, ``worker`` the child itself (``python -m jupyter_spackcache.server.tasks.worker``),
``protocol`` what the two say to each other, ``install`` the work the child does.

Kept free of imports: the child process imports this package, and must not pay for
jupyter_server or tornado.
"""
