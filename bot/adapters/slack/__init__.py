"""The Slack adapter: `/ci`, buttons, modals and App Home on slack-bolt's async app.

Import the submodules (`app`, `server`, `sender`, `settings`) when Slack is actually
used; this package itself imports nothing, so the CLI and the composition root can
take its `dialect` without loading slack-bolt.
"""
