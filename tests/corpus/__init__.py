"""Corner-case repositories for merges, built by scripts: each is checked against git itself."""
