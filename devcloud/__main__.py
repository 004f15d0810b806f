"""``python -m devcloud up|down|status|reset|seed``."""

import argparse
import json
import sys

from . import cloud, config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcloud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="install if needed, start Keystone and Glance, wait for both")
    commands.add_parser("down", help="stop the servers this dev cloud started")
    commands.add_parser("status", help="show whether each server runs and answers")
    commands.add_parser("reset", help="stop the servers and drop their state")
    commands.add_parser(
        "purge",
        help="reset, and drop the servers' venv and what lives outside the checkout (/var/tmp)",
    )
    commands.add_parser("seed", help="upload the sample images (after up)")
    commands.add_parser("credentials", help="print the sample sign-in credentials")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            cloud.up()
        elif args.command == "down":
            cloud.down()
        elif args.command == "status":
            report = cloud.status()
            print(json.dumps(report, indent=2))
            return 0 if all(s["answers"] and s["pid"] for s in report.values()) else 3
        elif args.command == "reset":
            cloud.reset()
        elif args.command == "purge":
            cloud.purge()
        elif args.command == "seed":
            from .samples import seed

            for line in seed():
                print(line)
        elif args.command == "credentials":
            print(credentials())
    except cloud.DevCloudError as exc:
        print(f"devcloud: {exc}", file=sys.stderr)
        return 1
    return 0


def credentials() -> str:
    lines = [f"Dev cloud credentials (also in {config.CLOUDS_YAML}), domain {config.DOMAIN}:"]
    for account in (config.ADMIN, config.DEMO):
        lines.append(
            f"  {account.cloud}: username {account.username!r}, password {account.password!r}, "
            f"project {account.project!r}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
