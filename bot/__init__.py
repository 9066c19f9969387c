"""Everything with I/O: the command line, mirrors, and (later) the GitHub App and the store."""
