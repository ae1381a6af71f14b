"""End users page: a directory of end users and organizations derived from the loaded connections."""
