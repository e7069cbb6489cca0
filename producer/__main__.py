"""``python -m producer CONFIG.yaml``: stream the configured days' snapshots to Kafka, one run
per day."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from producer.publish import ProducerError, publish
from producer.source import load_configured
from router import DataError
from router.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m producer", description="Stream MBP snapshots to a Kafka topic."
    )
    parser.add_argument("config", type=Path, help="YAML config (see configs/default.yaml)")
    parser.add_argument("--pace", type=float, help="override kafka.pace (0: unpaced)")
    parser.add_argument("--topic", help="override kafka.topic")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        kafka = replace(config.kafka, topic=args.topic or config.kafka.topic)
        days, skipped = load_configured(config.data)
        for day in skipped:
            print(f"skipped {day}: no rows in the window", file=sys.stderr)
        summary = publish(days, kafka, pace=args.pace, progress=not args.quiet)
    except (ConfigError, DataError, FileNotFoundError, ProducerError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        print(
            "interrupted: the producer stopped; the day being sent has no end record, so no "
            "consumer will use it",
            file=sys.stderr,
        )
        return 130
    print(json.dumps(asdict(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
