"""Pure git analysis: reads a pygit2 repository, returns frozen dataclasses."""
