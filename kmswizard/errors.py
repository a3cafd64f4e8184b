"""The one exception type users see: a clear one-line message, never a traceback."""


class UserError(Exception):
    """Bad input or a refused operation, explained in one line that names the bad value."""
