"""A dispatcher process for the crash test: ``python -m tests.dispatcher_proc DB_URL PLATFORM_URL``.

Delivers the outbox to the fake platform at PLATFORM_URL, at `--rate` messages per
second, until killed; with `--drain`, delivers what is due, prints the counts as
JSON and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bot.runtime.dispatcher import Dispatcher, Pace
from storage.db import make_engine
from tests.fake_platform import FakeSender


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db_url")
    parser.add_argument("platform_url")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--drain", action="store_true")
    args = parser.parse_args(argv)
    sender = FakeSender(args.platform_url)
    dispatcher = Dispatcher(make_engine(args.db_url), {"slack": sender},
                            paces={"slack": Pace(channel_interval=1.0, workspace_rate=args.rate)})
    try:
        if args.drain:
            sys.stdout.write(json.dumps(await dispatcher.drain()) + "\n")
        else:
            await dispatcher.run()
    finally:
        await sender.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
