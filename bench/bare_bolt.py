"""The peer of `bench.slack_command`: a bare Bolt app that acknowledges `/ci`, then answers at response_url.

It serves Slack's HTTP endpoint the way `cibot serve` does (Bolt's aiohttp adapter,
one process) and imports the database driver cibot would use, so its RSS is the
floor cibot's is compared with.

    .venv/bin/python -m bench.bare_bolt --port 3001 --api-url http://127.0.0.1:PORT/api/ --driver sqlite
"""

from __future__ import annotations

import argparse
import importlib

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

DRIVERS = {"sqlite": "sqlite3", "postgresql": "psycopg"}


def bare_app(api_url: str, signing_secret: str) -> AsyncApp:
    """A Bolt app doing nothing but acknowledging `/ci` and answering with a static text."""
    app = AsyncApp(client=AsyncWebClient(token="xoxb-test", base_url=api_url), signing_secret=signing_secret)

    @app.command("/ci")
    async def static(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(text="Looked it up.", response_type="ephemeral")

    return app


def main() -> None:
    """Serve the bare app on 127.0.0.1 until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--driver", choices=sorted(DRIVERS), default="sqlite")
    args = parser.parse_args()
    importlib.import_module(DRIVERS[args.driver])
    bare_app(args.api_url, args.signing_secret).start(port=args.port, host="127.0.0.1")


if __name__ == "__main__":
    main()
