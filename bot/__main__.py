"""`python -m bot`: the same as the `trunkguard` command."""

from bot.cli import main

main()
