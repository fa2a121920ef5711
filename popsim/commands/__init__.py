"""One module per ``popsim`` subcommand; shared argument helpers in :mod:`.common`."""
