"""The one error type users see: a sentence naming the bad value and what is accepted."""


class SaetaxError(Exception):
    """Bad input from the user (config, files, hookpoints, data).

    The CLI prints ``str(error)`` on one line and exits with code 2; library callers
    can catch it like any ``ValueError``-style input error.
    """


class ConfigError(SaetaxError, ValueError):
    """A config value that is missing, misspelt, of the wrong type or impossible."""


class SourceError(SaetaxError, ValueError):
    """An SAE or lens source that cannot be found or does not fit the rest."""


class DataError(SaetaxError, ValueError):
    """Numeric data that cannot be used as given (NaN rows, wrong rank or width)."""
