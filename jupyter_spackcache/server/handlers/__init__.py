"""REST handlers, one module per resource. Every verb is ``@tornado.web.authenticated`` and
``@authorized`` (resource "spackcache"); ``tests/server/test_server_auth.py`` checks them all."""
