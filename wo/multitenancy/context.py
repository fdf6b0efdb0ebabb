"""What every step of a command is handed: the Context."""
from dataclasses import dataclass


@dataclass
class Context:
    """What every command needs: the `self` WordOps' helpers expect (a
    wordops.Caller), the settings, our state (an MTDatabase), and where progress
    lines go."""
    ctl: object
    settings: object
    db: object
    report: object  # report(text): one progress line
