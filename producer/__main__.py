"""``python -m producer CONFIG.yaml``: stream the configured days' snapshots to Kafka, one run
per day."""

from __future__ import annotations

import sys

STOPPED_EARLY = "interrupted: the producer stopped before sending anything"
STOPPED_SENDING = (
    "interrupted: the producer stopped; the day being sent has no end record, so no consumer "
    "will use it"
)

try:  # the imports take seconds on a busy machine: a Ctrl-C there is a stop, not a traceback
    import argparse
    import json
    from dataclasses import asdict, replace
    from pathlib import Path

    from producer.publish import ProducerError, publish
    from producer.source import load_configured
    from router import DataError
    from sweep.config import ConfigError, load_config
except KeyboardInterrupt:
    print(STOPPED_EARLY, file=sys.stderr)
    sys.exit(130)


def main(argv: list[str] | None = None) -> int:
    sending = False
    try:
        parser = argparse.ArgumentParser(
            prog="python -m producer", description="Stream MBP snapshots to a Kafka topic."
        )
        parser.add_argument("config", type=Path, help="YAML config (see configs/default.yaml)")
        parser.add_argument("--pace", type=float, help="override kafka.pace (0: unpaced)")
        parser.add_argument("--topic", help="override kafka.topic")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        args = parser.parse_args(argv)
        config = load_config(args.config)
        kafka = replace(config.kafka, topic=args.topic or config.kafka.topic)
        days, skipped = load_configured(config.data)
        files = config.data.files()
        for day in skipped:
            print(f"skipped {day}: no rows in the window", file=sys.stderr)
        sending = True  # from here an interrupt may leave a day without its end record
        summary = publish(days, kafka, pace=args.pace, progress=not args.quiet, files=files)
    except (ConfigError, DataError, FileNotFoundError, ProducerError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError | DataError | FileNotFoundError) else 1
    except KeyboardInterrupt:
        print(STOPPED_SENDING if sending else STOPPED_EARLY, file=sys.stderr)
        return 130
    print(json.dumps(asdict(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
