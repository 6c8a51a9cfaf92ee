"""The Discord adapter: `/ci` app commands, embeds, persistent buttons and modals (discord.py 2.x).

Import the submodules (`client`, `sender`) when Discord is actually used; this package
itself imports nothing, so the CLI can start without loading discord.py.
"""
