"""`python -m bot`: the same as the `trunkguard` command."""

from bot.cli.main import main

main()
